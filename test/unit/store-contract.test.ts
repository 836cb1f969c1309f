import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STORE_BACKENDS, type StoreLocation } from '../support/store-backends.js';
import { taskEvent } from '../../shared/index.js';
import { openStore, type NewTask, type TaskStore } from '../../gateway/store/index.js';
import { admin, createTestSchema } from '../support/postgres.js';
import { MIGRATIONS } from '../../gateway/store/postgres-schema.js';

/**
 * One specification of a task store, run against every implementation: what the gateway and the
 * recorder rely on must not depend on STORE_URL. Each test gets a store location of its own (a
 * fresh SQLite file, a fresh PostgreSQL schema), removed afterwards.
 */
type Location = StoreLocation;

const backends = STORE_BACKENDS;

const echo = (id: string = randomUUID()) => ({ task_id: id, processor: 'echo' });
const newTask = (fields: Partial<NewTask> = {}): NewTask => ({
  id: randomUUID(),
  processor: 'echo',
  input: { fields: { item_a: 'TV' }, files: [] },
  createdAt: Date.now(),
  ...fields,
});

describe.each(backends)('the $name task store', (backend) => {
  let location: Location;
  let stores: TaskStore[];

  async function open(): Promise<TaskStore> {
    const store = await openStore(location.url);
    stores.push(store);
    return store;
  }

  async function pendingTask(store: TaskStore, fields: Partial<NewTask> = {}): Promise<{ task_id: string; processor: string }> {
    const task = newTask(fields);
    expect(await store.insertPending(task)).toEqual({ created: true });
    return echo(task.id);
  }

  beforeEach(async () => {
    location = await backend.location();
    stores = [];
  });

  afterEach(async () => {
    for (const store of stores) await store.close();
    await location.remove();
  });

  it('reads back the input a task was submitted with, and undefined for an unknown id', async () => {
    const store = await open();
    const input = { fields: { item_a: 'TV', count: 3 }, files: [{ name: 'a.png', content_type: 'image/png', size: 5, location: 'volume:uploads/a.png' }] };
    const task = newTask({ input });
    await store.insertPending(task);
    expect(await store.input(task.id)).toEqual(input);
    expect(await store.input(randomUUID())).toBeUndefined();
  });

  it('get returns undefined for an unknown id', async () => {
    expect(await (await open()).get(randomUUID())).toBeUndefined();
  });

  it('keeps the owner a task was inserted with, through its events, and null for an anonymous one', async () => {
    const store = await open();
    const owned = await pendingTask(store, { owner: 'alice' });
    const keyed = await pendingTask(store, { owner: 'bob', idempotency: { key: 'bob\nk-1', fingerprint: 'f', expiresAt: Date.now() + 60_000 } });
    const anonymous = await pendingTask(store);
    await store.applyEvents([taskEvent(owned, { status: 'SUCCESS', attempt: 1, result: 1 })]);
    expect((await store.get(owned.task_id))?.owner).toBe('alice');
    expect((await store.get(keyed.task_id))?.owner).toBe('bob');
    expect((await store.get(anonymous.task_id))?.owner).toBeNull();
    expect((await store.list({ limit: 10 })).map((r) => r.owner).sort()).toEqual(['alice', 'bob', null].sort());
  });

  it('records a run from PENDING to SUCCESS with its result and epoch-ms timestamps', async () => {
    const store = await open();
    const createdAt = Date.now() - 1000;
    const task = await pendingTask(store, { createdAt, input: { fields: { item_a: 'TV', n: 3 }, files: [] } });
    expect(await store.get(task.task_id)).toMatchObject({ status: 'PENDING', attempt: 0, progress: null, artifacts: [], createdAt, updatedAt: createdAt });
    expect(await store.result(task.task_id)).toBeUndefined();

    await store.applyEvents([taskEvent(task, { status: 'STARTED', attempt: 1, progress: 0.25, message: 'warming up' })]);
    expect(await store.get(task.task_id)).toMatchObject({ status: 'STARTED', attempt: 1, progress: 0.25, progressMessage: 'warming up' });
    const artifacts = [{ name: 'out.txt', content_type: 'text/plain', size: 3, location: 'volume:artifacts/x/out.txt' }];
    await store.applyEvents([taskEvent(task, { status: 'SUCCESS', attempt: 1, result: { answer: 42 }, artifacts })]);
    const record = await store.get(task.task_id);
    expect(record).toMatchObject({ status: 'SUCCESS', attempt: 1, progress: 1, artifacts, error: null });
    // A status read carries neither input nor result; the result is read on its own, as sent.
    expect(record).not.toHaveProperty('input');
    expect(record).not.toHaveProperty('result');
    expect(JSON.parse((await store.result(task.task_id))!)).toEqual({ answer: 42 });
    for (const time of [record?.createdAt, record?.startedAt, record?.finishedAt, record?.updatedAt]) expect(time).toBeTypeOf('number');
    expect(record!.finishedAt!).toBeGreaterThanOrEqual(record!.startedAt!);
  });

  it('records a task cancelled while queued as REVOKED with its error, never started, and a late SUCCESS changes nothing', async () => {
    const store = await open();
    const task = await pendingTask(store);
    const error = { code: 'revoked', message: 'cancelled by request' };
    await store.applyEvents([taskEvent(task, { status: 'REVOKED', attempt: 1, error })]);
    await store.applyEvents([taskEvent(task, { status: 'SUCCESS', attempt: 1, result: { late: true } })]);
    const record = await store.get(task.task_id);
    expect(record).toMatchObject({ status: 'REVOKED', error, startedAt: null });
    expect(await store.result(task.task_id)).toBeUndefined();
    expect(record!.finishedAt).toBeTypeOf('number');
  });

  it('expires tasks finished before the cut-off once each, dropping the result and keeping the record', async () => {
    const store = await open();
    const old = await pendingTask(store);
    const running = await pendingTask(store);
    const recent = await pendingTask(store);
    const finishedAt = (ms: number) => new Date(ms).toISOString();
    await store.applyEvents([
      { ...taskEvent(old, { status: 'SUCCESS', attempt: 1, result: { big: 'answer' } }), at: finishedAt(1_000) },
      taskEvent(running, { status: 'STARTED', attempt: 1 }),
      taskEvent(recent, { status: 'SUCCESS', attempt: 1, result: 1 }),
    ]);
    const expired = await store.expireFinished(Date.now() - 60_000, 10, 5_000);
    expect(expired.map((r) => r.id)).toEqual([old.task_id]);
    // The janitor gets the input too: it removes the task's uploads.
    expect(expired[0]!.input).toEqual({ fields: { item_a: 'TV' }, files: [] });
    expect(await store.get(old.task_id)).toMatchObject({ status: 'SUCCESS', expiredAt: 5_000 });
    expect(await store.result(old.task_id)).toBeUndefined();
    expect(await store.result(recent.task_id)).toBe('1');
    expect((await store.get(recent.task_id))?.expiredAt).toBeNull();
    expect(await store.expireFinished(Date.now() - 60_000, 10, 6_000)).toEqual([]);
    // Two janitors at once never both get a task.
    const another = await open();
    const more = await pendingTask(store);
    await store.applyEvents([{ ...taskEvent(more, { status: 'FAILURE', attempt: 1, error: { code: 'x', message: 'y' } }), at: finishedAt(2_000) }]);
    const [a, b] = await Promise.all([store.expireFinished(10_000, 10, 7_000), another.expireFinished(10_000, 10, 7_000)]);
    expect([...a, ...b].map((r) => r.id)).toEqual([more.task_id]);
  });

  it('hands out PENDING tasks never noted as confirmed, once each, and not those noted or newer', async () => {
    const store = await open();
    const confirmed = await pendingTask(store, { createdAt: 1_000 });
    const orphan = await pendingTask(store, { createdAt: 1_000 });
    const recent = await pendingTask(store);
    await store.markConfirmed([confirmed.task_id], 2_000);
    const another = await open();
    const [a, b] = await Promise.all([store.claimUnconfirmed(10_000, 10, 3_000), another.claimUnconfirmed(10_000, 10, 3_000)]);
    expect([...a, ...b].map((r) => r.id)).toEqual([orphan.task_id]);
    expect(await store.claimUnconfirmed(10_000, 10, 4_000)).toEqual([]);
    // A publish that failed gives the task back for the next sweep.
    await store.unclaim([orphan.task_id]);
    expect((await store.claimUnconfirmed(10_000, 10, 5_000)).map((r) => r.id)).toEqual([orphan.task_id]);
    expect((await store.claimUnconfirmed(Date.now() + 1000, 10, 6_000)).map((r) => r.id)).toEqual([recent.task_id]);
  });

  it('keeps a null result distinct from no result', async () => {
    const store = await open();
    const task = await pendingTask(store);
    await store.applyEvents([taskEvent(task, { status: 'SUCCESS', attempt: 1, result: null })]);
    expect(await store.result(task.task_id)).toBe('null');
    expect(await store.result(randomUUID())).toBeUndefined();
  });

  it('applies a batch with duplicates and reordering to the same truth', async () => {
    const store = await open();
    const task = await pendingTask(store);
    const started = taskEvent(task, { status: 'STARTED', attempt: 1 });
    const failed = taskEvent(task, { status: 'FAILURE', attempt: 1, error: { code: 'boom', message: 'it broke' } });
    const outcomes = await store.applyEvents([failed, started, started, failed]);
    expect(outcomes.map((o) => o.reason ?? 'applied')).toEqual(['applied', 'terminal', 'terminal', 'terminal']);
    expect(await store.get(task.task_id)).toMatchObject({ status: 'FAILURE', error: { code: 'boom', message: 'it broke' } });
  });

  it('applies events in batch order: a retry, a stale report and the next attempt', async () => {
    const store = await open();
    const task = await pendingTask(store);
    const outcomes = await store.applyEvents([
      taskEvent(task, { status: 'STARTED', attempt: 1, progress: 0.5 }),
      taskEvent(task, { status: 'STARTED', attempt: 1, progress: 0.3 }),
      taskEvent(task, { status: 'RETRY', attempt: 1, error: { code: 'flaky', message: 'try again' } }),
      taskEvent(task, { status: 'STARTED', attempt: 1 }),
      taskEvent(task, { status: 'STARTED', attempt: 2 }),
    ]);
    expect(outcomes.map((o) => o.reason ?? 'applied')).toEqual(['applied', 'stale', 'applied', 'stale', 'applied']);
    expect(await store.get(task.task_id)).toMatchObject({ status: 'STARTED', attempt: 2, progress: 0, error: null });
  });

  it('hands back the record only for the event that made a task terminal, as get then reads it', async () => {
    const store = await open();
    const task = await pendingTask(store);
    const success = taskEvent(task, { status: 'SUCCESS', attempt: 1, result: 'ok' });
    const outcomes = await store.applyEvents([taskEvent(task, { status: 'STARTED', attempt: 1 }), success, success]);
    expect(outcomes.map((o) => o.record === undefined)).toEqual([true, false, true]);
    // With the result in hand (for delivery jobs), which a status read does not carry.
    expect(outcomes[1]!.record).toEqual({ ...(await store.get(task.task_id)), result: 'ok' });
    // Another event that would end it changes nothing and carries no record.
    const [late] = await store.applyEvents([taskEvent(task, { status: 'FAILURE', attempt: 1, error: { code: 'x', message: 'late' } })]);
    expect(late).toMatchObject({ applied: false, reason: 'terminal' });
    expect(late!.record).toBeUndefined();
  });

  it('hands the record back again for the very event that finished a task, when its batch is tried again after a lost COMMIT answer', async () => {
    const store = await open();
    const task = await pendingTask(store);
    const success = taskEvent(task, { status: 'SUCCESS', attempt: 1, result: 'ok' });
    await store.applyEvents([success]);
    const [again] = await store.applyEvents([success]);
    expect(again).toMatchObject({ applied: false, reason: 'terminal', record: { id: task.task_id, status: 'SUCCESS', result: 'ok' } });
  });

  it('says an event for an unknown task was not applied', async () => {
    const outcomes = await (await open()).applyEvents([taskEvent(echo(), { status: 'STARTED', attempt: 1 })]);
    expect(outcomes[0]).toMatchObject({ applied: false, reason: 'unknown_task' });
  });

  it('records a failure whose message holds a NUL character', async () => {
    const store = await open();
    const task = await pendingTask(store);
    await store.applyEvents([taskEvent(task, { status: 'FAILURE', attempt: 1, error: { code: 'bad_bytes', message: 'before\u0000after' } })]);
    const record = await store.get(task.task_id);
    expect(record).toMatchObject({ status: 'FAILURE', error: { code: 'bad_bytes' } });
    expect(record?.error?.message).toMatch(/^before.after$/u);
  });

  it('marks a task whose publish was never confirmed as not accepted, and only a PENDING one', async () => {
    const store = await open();
    const task = await pendingTask(store);
    expect(await store.markNotAccepted(task.task_id, { code: 'not_accepted', message: 'no confirm' }, Date.now())).toBe(true);
    expect(await store.get(task.task_id)).toMatchObject({ status: 'FAILURE', error: { code: 'not_accepted' } });
    // A late event from a publish that did get through cannot resurrect it.
    await store.applyEvents([taskEvent(task, { status: 'SUCCESS', attempt: 1, result: 1 })]);
    expect((await store.get(task.task_id))?.status).toBe('FAILURE');

    // The message got through after all and a worker took it: the task stands, and so does its key.
    const idempotency = { key: `k-${randomUUID()}`, fingerprint: 'f', expiresAt: Date.now() + 60_000 };
    const running = await pendingTask(store, { idempotency });
    await store.applyEvents([taskEvent(running, { status: 'STARTED', attempt: 1 })]);
    expect(await store.markNotAccepted(running.task_id, { code: 'not_accepted', message: 'no confirm' }, Date.now())).toBe(false);
    expect(await store.get(running.task_id)).toMatchObject({ status: 'STARTED', error: null });
    expect(await store.insertPending(newTask({ idempotency }))).toEqual({ created: false, taskId: running.task_id, sameRequest: true });
  });

  it('shows one store’s committed writes to another on the same location', async () => {
    const [writer, reader] = [await open(), await open()];
    const task = await pendingTask(writer);
    expect((await reader.get(task.task_id))?.status).toBe('PENDING');
    await writer.applyEvents([taskEvent(task, { status: 'SUCCESS', attempt: 1, result: 'ok' })]);
    expect(await reader.get(task.task_id)).toMatchObject({ status: 'SUCCESS' });
    expect(await reader.result(task.task_id)).toBe('"ok"');
  });

  it('migrates once: reopening keeps the tasks, and stores opened at once all work', async () => {
    const first = await open();
    const task = await pendingTask(first);
    await first.close();
    const again = await Promise.all([open(), open(), open()]);
    for (const store of again) expect((await store.get(task.task_id))?.status).toBe('PENDING');
  });

  it("lists one owner's tasks (or the anonymous ones) and pages by (created_at, id) without skipping tasks made in the same millisecond", async () => {
    const store = await open();
    const alice: string[] = [];
    for (let n = 0; n < 5; n += 1) {
      // Three of them in the same millisecond: a cursor of the time alone would skip or repeat them.
      const task = newTask({ owner: 'alice', createdAt: n < 3 ? 2000 : 2000 + n });
      alice.push(task.id);
      await store.insertPending(task);
    }
    const anonymous = newTask({ createdAt: 2001 });
    await store.insertPending(anonymous);
    await store.insertPending(newTask({ owner: 'bob', createdAt: 2002 }));

    const expected = (await store.list({ limit: 10, owner: 'alice' })).map((r) => r.id);
    expect(new Set(expected)).toEqual(new Set(alice));
    const paged: string[] = [];
    let after: { createdAt: number; id: string } | undefined;
    for (;;) {
      const page = await store.list({ limit: 2, owner: 'alice', ...(after ? { after } : {}) });
      paged.push(...page.map((r) => r.id));
      if (page.length < 2) break;
      after = { createdAt: page.at(-1)!.createdAt, id: page.at(-1)!.id };
    }
    expect(paged).toEqual(expected);
    expect((await store.list({ limit: 10, owner: null })).map((r) => r.id)).toEqual([anonymous.id]);
    expect((await store.list({ limit: 10 })).length).toBe(7);
  });

  it('lists newest first, filtered by status and processor, pages with before, and counts', async () => {
    const store = await open();
    const ids: string[] = [];
    for (let n = 0; n < 5; n += 1) {
      const task = newTask({ processor: n % 2 ? 'echo' : 'document', createdAt: 1000 + n });
      ids.push(task.id);
      await store.insertPending(task);
    }
    await store.applyEvents([taskEvent({ task_id: ids[4]!, processor: 'document' }, { status: 'SUCCESS', attempt: 1, result: 1 })]);
    expect((await store.list({ limit: 10 })).map((r) => r.id)).toEqual([...ids].reverse());
    expect((await store.list({ limit: 10, processor: 'echo' })).map((r) => r.id)).toEqual([ids[3], ids[1]]);
    expect((await store.list({ limit: 10, status: 'SUCCESS' })).map((r) => r.id)).toEqual([ids[4]]);
    expect((await store.list({ limit: 2, before: 1003 })).map((r) => r.id)).toEqual([ids[2], ids[1]]);
    expect(await store.list({ limit: 10, status: 'PENDING', processor: 'document', before: 1002 })).toMatchObject([{ id: ids[0] }]);
    const counts = await store.counts([0, Date.now() + 60_000]);
    expect(counts.byStatus).toEqual({ PENDING: 4, STARTED: 0, RETRY: 0, SUCCESS: 1, FAILURE: 0, REVOKED: 0 });
    expect(counts.finishedSince).toEqual([
      { PENDING: 0, STARTED: 0, RETRY: 0, SUCCESS: 1, FAILURE: 0, REVOKED: 0 },
      { PENDING: 0, STARTED: 0, RETRY: 0, SUCCESS: 0, FAILURE: 0, REVOKED: 0 },
    ]);
  });

  it('fails only the insert whose id is taken, among inserts made at once', async () => {
    const store = await open();
    const tasks = Array.from({ length: 5 }, () => newTask());
    const results = await Promise.allSettled([...tasks, tasks[2]!].map((task) => store.insertPending(task)));
    // Either of the two with one id may commit first (PostgreSQL runs them on separate connections).
    expect(results.filter((_, n) => n !== 2 && n !== 5).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect([results[2]!.status, results[5]!.status].sort()).toEqual(['fulfilled', 'rejected']);
    for (const task of tasks) expect((await store.get(task.id))?.status).toBe('PENDING');
  });

  describe('Idempotency-Key', () => {
    const key = (fields: Partial<NonNullable<NewTask['idempotency']>> = {}) => ({ key: 'k-1', fingerprint: 'f', expiresAt: Date.now() + 60_000, ...fields });

    it('hands racing submits with one key, from two stores, one task', async () => {
      const [a, b] = [await open(), await open()];
      const tasks = Array.from({ length: 8 }, () => newTask({ idempotency: key() }));
      const outcomes = await Promise.all(tasks.map((task, n) => (n % 2 ? b : a).insertPending(task)));
      const winners = tasks.filter((_, n) => outcomes[n]!.created);
      expect(winners).toHaveLength(1);
      const winner = winners[0]!.id;
      expect(outcomes.filter((o) => !o.created)).toEqual(Array.from({ length: 7 }, () => ({ created: false, taskId: winner, sameRequest: true })));
      for (const task of tasks) expect((await a.get(task.id)) === undefined).toBe(task.id !== winner);
    });

    it('tells a different request under a taken key apart, and frees a key that lapsed or was not accepted', async () => {
      const store = await open();
      const first = newTask({ idempotency: key() });
      await store.insertPending(first);
      expect(await store.insertPending(newTask({ idempotency: key({ fingerprint: 'other' }) }))).toEqual({
        created: false,
        taskId: first.id,
        sameRequest: false,
      });

      const lapsed = newTask({ idempotency: key({ key: 'k-2', expiresAt: Date.now() - 1 }) });
      await store.insertPending({ ...lapsed, createdAt: Date.now() - 10 });
      expect(await store.insertPending(newTask({ idempotency: key({ key: 'k-2' }) }))).toEqual({ created: true });

      await store.markNotAccepted(first.id, { code: 'not_accepted', message: 'no confirm' }, Date.now());
      expect(await store.insertPending(newTask({ idempotency: key() }))).toEqual({ created: true });
    });
  });

  describe('competing recorders', () => {
    it('end every task in one consistent terminal state when two stores apply batches on the same tasks at once', async () => {
      const [a, b] = [await open(), await open()];
      for (let round = 0; round < 5; round += 1) {
        const tasks = await Promise.all(Array.from({ length: 20 }, () => pendingTask(a)));
        // Opposite orders: recorders that locked rows as they met them would deadlock here.
        const batchA = tasks.flatMap((task) => [
          taskEvent(task, { status: 'STARTED', attempt: 1 }),
          taskEvent(task, { status: 'SUCCESS', attempt: 1, result: 'A' }),
        ]);
        const batchB = [...tasks]
          .reverse()
          .flatMap((task) => [
            taskEvent(task, { status: 'STARTED', attempt: 1, progress: 0.5 }),
            taskEvent(task, { status: 'FAILURE', attempt: 1, error: { code: 'b', message: 'B' } }),
          ]);
        const outcomes = (await Promise.all([a.applyEvents(batchA), b.applyEvents(batchB)])).flat();
        for (const task of tasks) {
          const terminal = outcomes.filter((o) => o.taskId === task.task_id && o.record);
          expect(terminal).toHaveLength(1);
          const { result, ...record } = terminal[0]!.record!;
          expect(await a.get(task.task_id)).toEqual(record);
          expect(await b.get(task.task_id)).toEqual(record);
          expect(await a.result(task.task_id)).toBe(result === undefined ? undefined : JSON.stringify(result));
        }
      }
    });
  });
});

describe('the PostgreSQL task store', () => {
  it('records each migration once, in its own table, when several stores open at once', async () => {
    const schema = await createTestSchema();
    try {
      const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(schema.url)));
      await Promise.all(stores.map((store) => store.close()));
      const rows = await admin<{ version: number }>(`SELECT version FROM ${schema.name}.warren_migrations ORDER BY version`);
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((_, n) => n + 1));
    } finally {
      await schema.drop();
    }
  });

  it('refuses to open without a database, naming the store but never its password', async () => {
    const opening = openStore('postgres://warren:hunter2@127.0.0.1:1/warren');
    await expect(opening).rejects.toThrow(/cannot open the PostgreSQL store at postgres:\/\/warren:\*\*\*@127\.0\.0\.1:1\/warren/);
    await expect(opening).rejects.not.toThrow(/hunter2/);
  });
});

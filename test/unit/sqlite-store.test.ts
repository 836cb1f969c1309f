import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { taskEvent, type TaskStore } from '../../shared/index.js';
import { SqliteTaskStore } from '../../shared/store/sqlite.js';

let dir: string;
let stores: TaskStore[];

function open(): TaskStore {
  const store = new SqliteTaskStore(path.join(dir, 'warren.db'));
  stores.push(store);
  return store;
}

async function pendingTask(store: TaskStore): Promise<{ task_id: string; processor: string }> {
  const id = randomUUID();
  await store.insertPending({ id, processor: 'echo', input: { fields: { item_a: 'TV' }, files: [] }, createdAt: Date.now() });
  return { task_id: id, processor: 'echo' };
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-store-'));
  stores = [];
});

afterEach(async () => {
  for (const store of stores) await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('SQLite task store', () => {
  it('returns undefined for an unknown id', async () => {
    expect(await open().get(randomUUID())).toBeUndefined();
  });

  it('records a run from PENDING to SUCCESS with its result and timestamps', async () => {
    const store = open();
    const task = await pendingTask(store);
    expect((await store.get(task.task_id))?.status).toBe('PENDING');

    await store.applyEvents([taskEvent(task, { status: 'STARTED', attempt: 1 })]);
    await store.applyEvents([taskEvent(task, { status: 'SUCCESS', attempt: 1, result: { answer: 42 } })]);
    const record = await store.get(task.task_id);
    expect(record).toMatchObject({ status: 'SUCCESS', attempt: 1, progress: 1, result: { answer: 42 }, error: null });
    expect(record?.startedAt).toBeTypeOf('number');
    expect(record?.finishedAt).toBeTypeOf('number');
  });

  it('applies a batch with duplicates and reordering to the same truth', async () => {
    const store = open();
    const task = await pendingTask(store);
    const started = taskEvent(task, { status: 'STARTED', attempt: 1 });
    const failed = taskEvent(task, { status: 'FAILURE', attempt: 1, error: { code: 'boom', message: 'it broke' } });
    const outcomes = await store.applyEvents([failed, started, started, failed]);
    expect(outcomes.map((o) => o.applied)).toEqual([true, false, false, false]);
    expect(await store.get(task.task_id)).toMatchObject({ status: 'FAILURE', error: { code: 'boom', message: 'it broke' } });
  });

  it('says an event for an unknown task was not applied', async () => {
    const outcomes = await open().applyEvents([taskEvent({ task_id: randomUUID(), processor: 'echo' }, { status: 'STARTED', attempt: 1 })]);
    expect(outcomes[0]).toMatchObject({ applied: false, reason: 'unknown_task' });
  });

  it('marks a task whose publish was never confirmed as not accepted, and only a PENDING one', async () => {
    const store = open();
    const task = await pendingTask(store);
    await store.markNotAccepted(task.task_id, { code: 'not_accepted', message: 'no confirm' }, Date.now());
    expect(await store.get(task.task_id)).toMatchObject({ status: 'FAILURE', error: { code: 'not_accepted' } });
    // A late event from a publish that did get through cannot resurrect it.
    await store.applyEvents([taskEvent(task, { status: 'SUCCESS', attempt: 1, result: 1 })]);
    expect((await store.get(task.task_id))?.status).toBe('FAILURE');
  });

  it('shows one connection’s committed writes to another on the same file', async () => {
    const writer = open();
    const reader = open();
    const task = await pendingTask(writer);
    expect((await reader.get(task.task_id))?.status).toBe('PENDING');
    await writer.applyEvents([taskEvent(task, { status: 'SUCCESS', attempt: 1, result: 'ok' })]);
    expect(await reader.get(task.task_id)).toMatchObject({ status: 'SUCCESS', result: 'ok' });
  });

  it('migrates once: reopening an existing file keeps its tasks', async () => {
    const first = open();
    const task = await pendingTask(first);
    await first.close();
    expect((await open().get(task.task_id))?.status).toBe('PENDING');
  });
});

describe('SQLite task store listings', () => {
  it('lists newest first, filtered by status and processor, and pages with before', async () => {
    const store = open();
    const ids: string[] = [];
    for (let n = 0; n < 5; n += 1) {
      const id = randomUUID();
      ids.push(id);
      await store.insertPending({ id, processor: n % 2 ? 'echo' : 'document', input: { fields: {}, files: [] }, createdAt: 1000 + n });
    }
    await store.applyEvents([taskEvent({ task_id: ids[4]!, processor: 'document' }, { status: 'SUCCESS', attempt: 1, result: 1 })]);
    expect((await store.list({ limit: 10 })).map((r) => r.id)).toEqual([...ids].reverse());
    expect((await store.list({ limit: 10, processor: 'echo' })).map((r) => r.id)).toEqual([ids[3], ids[1]]);
    expect((await store.list({ limit: 10, status: 'SUCCESS' })).map((r) => r.id)).toEqual([ids[4]]);
    expect((await store.list({ limit: 2, before: 1003 })).map((r) => r.id)).toEqual([ids[2], ids[1]]);
    const counts = await store.counts([0]);
    expect(counts.byStatus).toMatchObject({ PENDING: 4, SUCCESS: 1, FAILURE: 0 });
    expect(counts.finishedSince[0]!.SUCCESS).toBe(1);
  });
});

describe('SQLite task store group commit', () => {
  it('commits inserts of one event-loop turn together, and a failing insert fails only its own caller', async () => {
    const store = open();
    const ids = Array.from({ length: 5 }, () => randomUUID());
    const duplicate = ids[2]!;
    const results = await Promise.allSettled([
      ...ids.map((id) => store.insertPending({ id, processor: 'echo', input: { fields: {}, files: [] }, createdAt: Date.now() })),
      store.insertPending({ id: duplicate, processor: 'echo', input: { fields: {}, files: [] }, createdAt: Date.now() }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    for (const id of ids) expect((await store.get(id))?.status).toBe('PENDING');
  });

  it('hands racing submits with one idempotency key the same task', async () => {
    const store = open();
    const idempotency = { key: 'k-1', fingerprint: 'f', expiresAt: Date.now() + 60_000 };
    const ids = Array.from({ length: 4 }, () => randomUUID());
    const outcomes = await Promise.all(ids.map((id) => store.insertPending({ id, processor: 'echo', input: { fields: {}, files: [] }, createdAt: Date.now(), idempotency })));
    expect(outcomes[0]).toEqual({ created: true });
    expect(outcomes.slice(1)).toEqual([1, 2, 3].map(() => ({ created: false, taskId: ids[0], sameRequest: true })));
  });
});

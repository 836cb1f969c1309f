import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STORE_BACKENDS } from '../support/store-backends.js';
import { DELIVERY_EVENT_TYPE, taskEvent, type DeliveryEvent } from '../../shared/index.js';
import { openStore, type TaskStore } from '../../gateway/store/index.js';

/**
 * The delivery half of the store, one specification for SQLite and PostgreSQL: targets wait for
 * their task, begin once, report attempts monotonically per round, and redeliver as new rounds.
 */
const backends = STORE_BACKENDS;

const webhook = { kind: 'webhook' as const, url: 'https://client.example/hook', events: ['completed' as const] };
const volume = { kind: 'volume' as const, path: '' };

describe.each(backends)('the $name delivery store', (backend) => {
  let store: TaskStore;
  let remove: () => Promise<void>;

  beforeEach(async () => {
    const location = await backend.location();
    remove = location.remove;
    store = await openStore(location.url);
  });

  afterEach(async () => {
    await store.close();
    await remove();
  });

  async function finishedTask(status: 'SUCCESS' | 'REVOKED' = 'SUCCESS'): Promise<string> {
    const id = randomUUID();
    await store.insertPending({ id, processor: 'echo', input: { fields: {}, files: [] }, createdAt: Date.now() });
    await store.deliveries.create(
      id,
      [
        { targetId: 'webhook', target: webhook },
        { targetId: 'volume', target: volume },
      ],
      Date.now(),
    );
    await store.applyEvents([taskEvent({ task_id: id, processor: 'echo' }, { status, attempt: 1, ...(status === 'SUCCESS' ? { result: { ok: true } } : {}) })]);
    return id;
  }

  function report(taskId: string, outcome: DeliveryEvent['outcome'], attempt: number, round = 1, extra: Partial<DeliveryEvent> = {}): DeliveryEvent {
    return {
      type: DELIVERY_EVENT_TYPE,
      version: 1,
      event_id: randomUUID(),
      delivery_id: randomUUID(),
      task_id: taskId,
      target_id: 'webhook',
      event: 'completed',
      round,
      attempt,
      outcome,
      at: new Date().toISOString(),
      duration_ms: 5,
      ...extra,
    };
  }

  it('counts a task’s targets on its row, and reports the count with each of its events', async () => {
    const bare = randomUUID();
    await store.insertPending({ id: bare, processor: 'echo', input: { fields: {}, files: [] }, createdAt: Date.now() });
    expect((await store.get(bare))?.deliveryTargets).toBe(0);
    const id = await finishedTask();
    expect((await store.get(id))?.deliveryTargets).toBe(2);
    const [started, finished] = await store.applyEvents([
      taskEvent({ task_id: bare, processor: 'echo' }, { status: 'STARTED', attempt: 1 }),
      taskEvent({ task_id: bare, processor: 'echo' }, { status: 'SUCCESS', attempt: 1, result: 1 }),
    ]);
    expect(started).toMatchObject({ applied: true, deliveryTargets: 0 });
    expect(finished).toMatchObject({ applied: true, deliveryTargets: 0, record: { deliveryTargets: 0 } });
    const [late] = await store.applyEvents([taskEvent({ task_id: id, processor: 'echo' }, { status: 'STARTED', attempt: 1 })]);
    expect(late).toMatchObject({ applied: false, reason: 'terminal', deliveryTargets: 2 });
  });

  it('keeps targets PENDING until the task finishes, then begins each once', async () => {
    const id = await finishedTask();
    expect((await store.deliveries.forTask(id)).map((d) => [d.targetId, d.state])).toEqual([
      ['volume', 'PENDING'],
      ['webhook', 'PENDING'],
    ]);
    const begun = await store.deliveries.begin(id, 'SUCCESS', Date.now());
    expect(begun.map((d) => d.targetId).sort()).toEqual(['volume', 'webhook']);
    await store.deliveries.markEnqueued(begun, Date.now());
    expect(await store.deliveries.begin(id, 'SUCCESS', Date.now())).toEqual([]);
    expect((await store.deliveries.forTask(id)).every((d) => d.state === 'DELIVERING' && d.enqueuedAt !== null)).toBe(true);
  });

  it('fails the file targets of a revoked task at once, and begins its webhook (task.revoked)', async () => {
    const id = await finishedTask('REVOKED');
    expect((await store.deliveries.begin(id, 'REVOKED', Date.now())).map((d) => d.targetId)).toEqual(['webhook']);
    expect((await store.deliveries.forTask(id)).map((d) => [d.targetId, d.state, d.lastError?.code ?? null])).toEqual([
      ['volume', 'FAILED', 'task_revoked'],
      ['webhook', 'DELIVERING', null],
    ]);
  });

  it('lets a started/progress notice be claimed only before the task begins delivering, one at a time, until it is reported', async () => {
    const id = randomUUID();
    await store.insertPending({ id, processor: 'echo', input: { fields: {}, files: [] }, createdAt: Date.now() });
    await store.deliveries.create(id, [{ targetId: 'webhook', target: webhook }], Date.now());
    const now = Date.now();
    const started = randomUUID();
    expect(await store.deliveries.claimNotice(id, 'webhook', started, now + 60_000, now)).toBe(true);
    // Another notice waits its turn, unless the first one's window has passed.
    expect(await store.deliveries.claimNotice(id, 'webhook', randomUUID(), now + 60_000, now)).toBe(false);
    expect(await store.deliveries.claimNotice(id, 'webhook', randomUUID(), now + 60_000, now + 60_000)).toBe(true);
    // A stale report (of the first notice) does not free the place the second one holds.
    await store.deliveries.apply([report(id, 'DELIVERED', 1, 1, { event: 'started', delivery_id: started })]);
    expect((await store.deliveries.forTask(id))[0]!.noticeUntil).toBe(now + 60_000);

    await store.applyEvents([taskEvent({ task_id: id, processor: 'echo' }, { status: 'FAILURE', attempt: 1, error: { code: 'x', message: 'x' } })]);
    const begun = await store.deliveries.begin(id, 'FAILURE', Date.now());
    // The final notification sees the notice on its way (and is held back by enqueueFinalDeliveries).
    expect(begun.map((d) => [d.targetId, d.noticeUntil])).toEqual([['webhook', now + 60_000]]);
    // Once delivering, no notice is claimed any more, however free the place.
    expect(await store.deliveries.claimNotice(id, 'webhook', randomUUID(), now + 120_000, now + 100_000)).toBe(false);
  });

  it('frees the notice place when that notice is reported, SKIPPED included', async () => {
    const id = randomUUID();
    await store.insertPending({ id, processor: 'echo', input: { fields: {}, files: [] }, createdAt: Date.now() });
    await store.deliveries.create(id, [{ targetId: 'webhook', target: webhook }], Date.now());
    const notice = randomUUID();
    expect(await store.deliveries.claimNotice(id, 'webhook', notice, Date.now() + 60_000, Date.now())).toBe(true);
    await store.deliveries.apply([report(id, 'SKIPPED', 1, 1, { event: 'started', delivery_id: notice, error: { code: 'notice_expired', message: 'late' } })]);
    expect((await store.deliveries.forTask(id))[0]!.noticeUntil).toBeNull();
    expect((await store.deliveries.attempts(id, 'webhook')).map((a) => [a.event, a.outcome, a.error?.code])).toEqual([
      ['started', 'SKIPPED', 'notice_expired'],
    ]);
  });

  it('applies attempts monotonically: a late RETRY never undoes DELIVERED, and every attempt is listed', async () => {
    const id = await finishedTask();
    await store.deliveries.begin(id, 'SUCCESS', Date.now());
    await store.deliveries.apply([report(id, 'RETRY', 1, 1, { http_status: 503, error: { code: 'webhook_status', message: '503' } })]);
    await store.deliveries.apply([report(id, 'DELIVERED', 2, 1, { http_status: 200, location: webhook.url })]);
    await store.deliveries.apply([report(id, 'RETRY', 1, 1, { http_status: 503 }), report(id, 'FAILED', 3)]);
    const target = (await store.deliveries.forTask(id)).find((d) => d.targetId === 'webhook')!;
    expect(target).toMatchObject({ state: 'DELIVERED', attempts: 2, lastHttpStatus: 200, location: webhook.url });
    expect(target.deliveredAt).not.toBeNull();
    const attempts = await store.deliveries.attempts(id, 'webhook');
    expect(attempts.map((a) => [a.attempt, a.outcome])).toEqual(
      expect.arrayContaining([
        [1, 'RETRY'],
        [2, 'DELIVERED'],
        [3, 'FAILED'],
      ]),
    );
    expect(attempts).toHaveLength(3); // the duplicate RETRY of attempt 1 is one attempt
  });

  it('finds stranded targets of finished tasks, and not those already enqueued', async () => {
    const stranded = await finishedTask();
    const enqueued = await finishedTask();
    await store.deliveries.markEnqueued(await store.deliveries.begin(enqueued, 'SUCCESS', Date.now()), Date.now());
    const found = await store.deliveries.stranded(Date.now() + 1000, 100);
    expect(found).toContain(stranded);
    expect(found).not.toContain(enqueued);
  });

  it("redelivers only a finished target, as a new round that ignores the old round's reports", async () => {
    const id = await finishedTask();
    await store.deliveries.begin(id, 'SUCCESS', Date.now());
    expect(await store.deliveries.redeliver(id, 'webhook', Date.now())).toEqual({ ok: false, reason: 'in_progress' });
    await store.deliveries.apply([report(id, 'FAILED', 1)]);
    const before = (await store.deliveries.forTask(id)).find((d) => d.targetId === 'webhook')!;
    const outcome = await store.deliveries.redeliver(id, 'webhook', Date.now());
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.record).toMatchObject({ round: 2, state: 'DELIVERING', attempts: 0, enqueuedAt: null });
    expect(outcome.record.deliveryId).not.toBe(before.deliveryId);
    await store.deliveries.apply([report(id, 'DELIVERED', 2, 1)]); // round 1: ignored
    expect((await store.deliveries.forTask(id)).find((d) => d.targetId === 'webhook')!.state).toBe('DELIVERING');
    expect(await store.deliveries.redeliver(id, 'nope', Date.now())).toEqual({ ok: false, reason: 'not_found' });
  });

  it('lists failed and retrying targets for the dashboard', async () => {
    const id = await finishedTask();
    await store.deliveries.begin(id, 'SUCCESS', Date.now());
    await store.deliveries.apply([report(id, 'RETRY', 1, 1, { error: { code: 'webhook_status', message: '500' } })]);
    expect((await store.deliveries.troubled(10)).map((d) => [d.taskId, d.targetId])).toContainEqual([id, 'webhook']);
  });
});

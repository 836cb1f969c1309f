import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskEvent } from '../../shared/index.js';
import { openStore, StorageFullError, StoreUnavailableError, type GuardedStore, type NewTask } from '../../gateway/store/index.js';
import { createTestSchema, type TestSchema } from '../support/postgres.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { fillDisk, mountSmallDisk } from '../support/tmpfs.js';

/**
 * The store on its own, against real failures: PostgreSQL reached through a TCP proxy of this
 * test's own that cuts, freezes and abandons connections (the machine's PostgreSQL is never
 * touched), and SQLite on a small tmpfs that fills up. Every failure must come back as
 * StoreUnavailableError or StorageFullError within the store's timeout — never a hang, never a
 * crash (vitest fails the run on an uncaught error) — and the store must work again after it.
 */
const TIMEOUT_MS = 600;
const task = (fields: Partial<NewTask> = {}): NewTask => ({
  id: randomUUID(),
  processor: 'echo',
  input: { fields: { item_a: 'x' }, files: [] },
  createdAt: Date.now(),
  ...fields,
});

/** How long `call` took to settle, and how. */
async function timed(call: () => Promise<unknown>): Promise<{ ms: number; error?: unknown }> {
  const began = Date.now();
  try {
    await call();
    return { ms: Date.now() - began };
  } catch (error) {
    return { ms: Date.now() - began, error };
  }
}

/** Until `call` succeeds (the store is back), at most `withinMs`. */
async function recovers(call: () => Promise<unknown>, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      await call();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('a PostgreSQL store behind a failing network', () => {
  let schema: TestSchema;
  let proxy: TcpProxy;
  let store: GuardedStore;

  beforeAll(async () => {
    schema = await createTestSchema();
    proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
    store = await openStore(schema.url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`), { poolSize: 4, timeoutMs: TIMEOUT_MS });
  });
  afterAll(async () => {
    await store?.close();
    await proxy?.close();
    await schema?.drop();
  });

  it('fails calls with store_unavailable while connections are cut, mid-transaction too, and works again after', async () => {
    const pending = await Promise.all(
      Array.from({ length: 20 }, () => task()).map(async (t) => (await store.insertPending(t), { task_id: t.id, processor: 'echo' })),
    );
    // Cut while batches are in their transactions: checked-out connections break under them.
    const batches = Array.from({ length: 4 }, (_, n) =>
      store.applyEvents(pending.slice(n * 5, n * 5 + 5).map((t) => taskEvent(t, { status: 'STARTED', attempt: 1 }))),
    );
    await new Promise((resolve) => setImmediate(resolve));
    proxy.cut();
    for (const outcome of await Promise.allSettled(batches)) {
      if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(StoreUnavailableError);
    }
    const during = await timed(() => store.get(pending[0]!.task_id));
    expect(during.error).toBeInstanceOf(StoreUnavailableError);
    expect(during.ms).toBeLessThan(TIMEOUT_MS * 4);
    await expect(store.insertPending(task())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(store.problem()).toMatch(/unavailable/);

    proxy.restore();
    await recovers(() => store.applyEvents(pending.map((t) => taskEvent(t, { status: 'SUCCESS', attempt: 1, result: t.task_id }))), 5_000);
    for (const t of pending) expect(await store.get(t.task_id)).toMatchObject({ status: 'SUCCESS' });
    expect(store.problem()).toBeUndefined();
  });

  it('gives up on a frozen connection within the timeout instead of waiting for ever, and carries on once it thaws', async () => {
    const t = task();
    await store.insertPending(t);
    proxy.freeze();
    const read = await timed(() => store.get(t.id));
    const write = await timed(() => store.applyEvents([taskEvent({ task_id: t.id, processor: 'echo' }, { status: 'STARTED', attempt: 1 })]));
    proxy.thaw();
    for (const call of [read, write]) {
      expect(call.error).toBeInstanceOf(StoreUnavailableError);
      // connect or query timeout, plus the query_timeout's second of slack
      expect(call.ms).toBeLessThan(TIMEOUT_MS + 1000 + 1500);
    }
    await recovers(() => store.get(t.id), 5_000);
    expect(await store.get(t.id)).toMatchObject({ status: 'PENDING' });
  });

  it('drops connections that never answer again and opens new ones', async () => {
    const t = task();
    await store.insertPending(t);
    // Warm the pool, then leave every open connection silent for good.
    await Promise.all(Array.from({ length: 4 }, () => store.get(t.id)));
    const acceptedBefore = proxy.accepted;
    proxy.abandon();
    await recovers(() => store.applyEvents([taskEvent({ task_id: t.id, processor: 'echo' }, { status: 'SUCCESS', attempt: 1, result: 1 })]), 10_000);
    expect(await store.get(t.id)).toMatchObject({ status: 'SUCCESS' });
    expect(proxy.accepted).toBeGreaterThan(acceptedBefore);
  });
});

const disk = mountSmallDisk('full-disk', 4 * 1024 * 1024);

describe.skipIf(!disk)('a SQLite store whose disk fills up', () => {
  let store: GuardedStore;
  const filler = path.join(disk?.dir ?? '', 'filler');

  beforeAll(async () => {
    store = await openStore(`sqlite:${path.join(disk!.dir, 'warren.db')}`);
  });
  afterAll(async () => {
    await store?.close();
    disk?.unmount();
  });

  it('refuses writes with insufficient_storage while the disk is full, still reads, and writes again once space is freed', async () => {
    const first = task();
    await store.insertPending(first);
    fillDisk(filler);
    // The WAL may still have room for a write or two; big inputs use it up.
    let refusal: unknown;
    for (let n = 0; n < 100 && refusal === undefined; n += 1) {
      await store.insertPending(task({ input: { fields: { item_a: 'x'.repeat(60_000) }, files: [] } })).catch((err: unknown) => (refusal = err));
    }
    expect(refusal).toBeInstanceOf(StorageFullError);
    expect((refusal as StorageFullError).code).toBe('insufficient_storage');
    expect(store.problem()).toMatch(/full/);
    expect(await store.get(first.id)).toMatchObject({ status: 'PENDING' });

    fs.rmSync(filler);
    await store.applyEvents([taskEvent({ task_id: first.id, processor: 'echo' }, { status: 'SUCCESS', attempt: 1, result: 'after' })]);
    expect(await store.result(first.id)).toBe('"after"');
    expect(store.problem()).toBeUndefined();
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecorder } from '../../gateway/background/recorder.js';
import { linksFor } from '../../gateway/links.js';
import { openStore, type GuardedStore, type TaskStore } from '../../gateway/store/index.js';
import { Broker, buildTopology, createLogger, publishTaskEvent, taskEvent, type Consumer } from '../../shared/index.js';
import { deletePrefix, TEST_AMQP_URL, uniquePrefix } from '../support/broker.js';

/**
 * The recorder against the shared broker and a real SQLite store whose commits are made slow
 * (150 ms each, as a busy PostgreSQL's can be): one batch is in flight at a time, and what arrives
 * meanwhile is committed together in the next one, not in a transaction per turn.
 */
const prefix = uniquePrefix();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-recorder-'));
const logger = createLogger('test', 'silent');
const topology = buildTopology({ prefix, processors: ['echo'], taskQueueMaxLength: 1000, deliveryLimit: 5 });
const broker = new Broker({ urls: [TEST_AMQP_URL], topology, role: 'test', logger, publishTimeoutMs: 10_000 });
let store: GuardedStore;
let recorder: Consumer;
/** Each applyEvents call's batch size, and the most that ran at once. */
const batches: number[] = [];
let running = 0;
let mostAtOnce = 0;

beforeAll(async () => {
  store = await openStore(`sqlite:${path.join(dir, 'tasks.db')}`);
  const slowCommits = new Proxy(store, {
    get(target, key, receiver) {
      if (key !== 'applyEvents') return Reflect.get(target, key, receiver) as unknown;
      const apply: TaskStore['applyEvents'] = async (events) => {
        batches.push(events.length);
        mostAtOnce = Math.max(mostAtOnce, (running += 1));
        try {
          await new Promise((resolve) => setTimeout(resolve, 150));
          return await target.applyEvents(events);
        } finally {
          running -= 1;
        }
      };
      return apply;
    },
  });
  await broker.ready();
  recorder = startRecorder({ broker, store: slowCommits, logger, prefetch: 500, links: linksFor('') });
});

afterAll(async () => {
  await recorder?.stop();
  await broker.close();
  await store?.close();
  await deletePrefix(prefix, ['echo']);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the recorder under slow commits', () => {
  it('keeps one batch in flight and commits what arrived meanwhile together; every task is recorded', async () => {
    const ids = Array.from({ length: 40 }, () => crypto.randomUUID());
    for (const id of ids) await store.insertPending({ id, processor: 'echo', input: { fields: {}, files: [] }, createdAt: Date.now() });
    const finish = (id: string): Promise<void> =>
      publishTaskEvent(broker, taskEvent({ task_id: id, processor: 'echo' }, { status: 'SUCCESS', attempt: 1, result: { id } }));

    // One event alone, then the rest one after another while its commit is in flight.
    await finish(ids[0]!);
    for (const id of ids.slice(1)) await finish(id);
    const deadline = Date.now() + 15_000;
    while ((await Promise.all(ids.map((id) => store.get(id)))).some((record) => record?.status !== 'SUCCESS')) {
      if (Date.now() > deadline) throw new Error(`not all recorded; batches so far ${JSON.stringify(batches)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(mostAtOnce).toBe(1);
    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(40);
    // 39 publishes take a few ms each, so they span at most a few 150 ms commits.
    expect(batches.length).toBeLessThanOrEqual(6);
  });
});

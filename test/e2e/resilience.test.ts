import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeConnectionsOf, deletePrefix, publishRaw, takeMessage, TEST_AMQP_URL, uniquePrefix } from '../support/broker.js';
import { submitForm, waitForTerminal, type Submitted } from '../support/client.js';
import { startGateway, startWorker, type Gateway, type WarrenProcess } from '../support/processes.js';

/** What happens when messages, queues or connections misbehave. */
const prefix = uniquePrefix();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-resilience-'));
const env = { AMQP_URL: TEST_AMQP_URL, AMQP_PREFIX: prefix, DATA_DIR: dataDir, DEFAULT_PROCESSOR: 'echo', WORKER_PROCESSORS: 'echo', RETRY_DELAYS_MS: '1000' };
let worker: WarrenProcess;
let gateway: Gateway;

beforeAll(async () => {
  [worker, gateway] = await Promise.all([startWorker(env), startGateway(env)]);
});

afterAll(async () => {
  await Promise.all([worker, gateway].filter(Boolean).map((p) => p.stop()));
  await deletePrefix(prefix);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function echoSucceeds(): Promise<void> {
  const response = await submitForm(gateway.url, { item_a: 'still alive' });
  expect(response.status).toBe(202);
  const { task_id } = (await response.json()) as Submitted;
  expect((await waitForTerminal(gateway.url, task_id)).status).toBe('SUCCESS');
}

describe('contract violations on the broker', () => {
  it('dead-letters a task message that breaks its contract, with the reason, and the worker keeps serving', async () => {
    await publishRaw(`${prefix}.tasks`, 'echo', Buffer.from(JSON.stringify({ type: 'warren.task', version: 1, task_id: 'nope' })));
    const dead = await takeMessage(`${prefix}.dead-letters`);
    expect(String(dead.properties.headers?.['x-warren-reason'])).toMatch(/TaskMessage invalid/);
    expect(dead.properties.headers?.['x-warren-queue']).toBe(`${prefix}.tasks.echo`);
    await echoSucceeds();
    expect(worker.child.exitCode).toBeNull();
  });

  it('dead-letters an event that is not JSON, with the reason, and the recorder keeps recording', async () => {
    await publishRaw(`${prefix}.events`, 'task.success.echo', Buffer.from('{"half": '));
    const dead = await takeMessage(`${prefix}.dead-letters`);
    expect(dead.properties.headers?.['x-warren-reason']).toBe('body is not valid JSON');
    expect(dead.properties.headers?.['x-warren-queue']).toBe(`${prefix}.results`);
    await echoSucceeds();
  });
});

describe('connection loss', () => {
  it('gateway and worker reconnect by themselves after the broker drops their connections', async () => {
    const closed = closeConnectionsOf([gateway.child.pid!, worker.child.pid!]);
    expect(closed).toBe(2);
    // Submits may be refused (503) while the connection is re-established, never hang or 500.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const response = await submitForm(gateway.url, { item_a: 'after reconnect' });
      if (response.status === 202) {
        const { task_id } = (await response.json()) as Submitted;
        expect((await waitForTerminal(gateway.url, task_id)).status).toBe('SUCCESS');
        break;
      }
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('broker_unavailable');
      if (Date.now() > deadline) throw new Error('gateway did not recover within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 30_000);
});

describe('backpressure', () => {
  const fullPrefix = uniquePrefix();
  const fullDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-full-'));
  let lonely: Gateway;

  beforeAll(async () => {
    // No worker: the queue only fills.
    lonely = await startGateway({
      AMQP_URL: TEST_AMQP_URL,
      AMQP_PREFIX: fullPrefix,
      DATA_DIR: fullDir,
      TASK_QUEUE_MAX_LENGTH: '2',
      DEFAULT_PROCESSOR: 'echo',
      RETRY_DELAYS_MS: '1000',
    });
  });

  afterAll(async () => {
    await lonely?.stop();
    await deletePrefix(fullPrefix);
    fs.rmSync(fullDir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After when the task queue is full, and the row says the task was not accepted', async () => {
    const statuses: number[] = [];
    let refused: Response | undefined;
    // A quorum queue applies reject-publish once it is over the limit, so it takes limit + 1.
    for (let n = 0; n < 4; n += 1) {
      const response = await submitForm(lonely.url, { item_a: `task ${n}` });
      statuses.push(response.status);
      if (response.status === 503) refused = response;
      else await response.body?.cancel();
    }
    expect(statuses).toEqual([202, 202, 202, 503]);
    expect(refused!.headers.get('retry-after')).toBeTruthy();
    expect(await refused!.json()).toMatchObject({ error: { code: 'broker_unavailable' } });

    const db = new Database(path.join(fullDir, 'warren.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT status, error_code FROM tasks ORDER BY rowid').all();
      expect(rows).toEqual([
        { status: 'PENDING', error_code: null },
        { status: 'PENDING', error_code: null },
        { status: 'PENDING', error_code: null },
        { status: 'FAILURE', error_code: 'not_accepted' },
      ]);
    } finally {
      db.close();
    }
  });
});

describe('worker shutdown', () => {
  const ownPrefix = uniquePrefix();
  const ownDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-shutdown-'));
  const ownEnv = {
    AMQP_URL: TEST_AMQP_URL,
    AMQP_PREFIX: ownPrefix,
    DATA_DIR: ownDir,
    SHUTDOWN_GRACE_MS: '300',
    DEFAULT_PROCESSOR: 'echo',
    WORKER_PROCESSORS: 'echo',
    RETRY_DELAYS_MS: '1000',
  };
  const started: WarrenProcess[] = [];

  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop()));
    await deletePrefix(ownPrefix);
    fs.rmSync(ownDir, { recursive: true, force: true });
  });

  it('hands a task it could not finish within the grace period back to the queue, and another worker completes it', async () => {
    const [first, ownGateway] = await Promise.all([startWorker(ownEnv), startGateway(ownEnv)]);
    started.push(first, ownGateway);
    const submitted = await submitForm(ownGateway.url, { sleep_ms: '2000' });
    expect(submitted.status).toBe(202);
    const { task_id } = (await submitted.json()) as Submitted;
    // Wait until the first worker has really started it.
    const deadline = Date.now() + 10_000;
    const seen: string[] = [];
    for (;;) {
      const { status } = (await (await fetch(`${ownGateway.url}/task_status/${task_id}`)).json()) as { status: string };
      if (status === 'STARTED') break;
      if (seen.at(-1) !== status) seen.push(String(status));
      if (Date.now() > deadline) throw new Error(`task never started; statuses seen: ${seen.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await startWorker(ownEnv);
    started.push(second);
    const status = await waitForTerminal(ownGateway.url, task_id, 15_000);
    expect(status).toMatchObject({ status: 'SUCCESS', attempts: 2 });
  }, 30_000);
});

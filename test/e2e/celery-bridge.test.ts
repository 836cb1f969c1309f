import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import amqp from 'amqplib';
import { openStore } from '../../gateway/store/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_AMQP_URL } from '../support/broker.js';
import { celeryInstalled, FORCED_PY, spawnCeleryWorker, startCeleryWorker, writeCeleryApp, type CeleryWorker } from '../support/celery-worker.js';
import { submitForm, submitJson, waitForTerminal, type StatusDocument, type Submitted } from '../support/client.js';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * Existing Celery workers serve warren processors, unchanged: a real gateway whose PROCESSORS_DIR
 * names Celery tasks, and a stock Debian Celery 5.2 worker (`celery -A tasks worker -Q <queue>`)
 * running the original system's tasks.py with the rpc:// result backend. The gateway publishes
 * Celery task messages and bridges the worker's replies into warren's events, so status, results,
 * webhooks and cancel work as for warren's own workers.
 */
const secret = `whsec_${randomBytes(32).toString('base64')}`;
// A short outbox grace: the sweeper publishes an orphaned PENDING row within seconds. Results up to 64 KiB.
const stack = testStack('celery-bridge', { WEBHOOK_SECRET: secret, WEBHOOK_ALLOWLIST: '127.0.0.1', TASK_SWEEP_GRACE_MS: '1000', MAX_RESULT_BYTES: '65536' });
/** Unique per run: parallel test files and real deployments on this broker never share it. */
const queue = `warren-test-celery-${randomUUID().slice(0, 8)}`;
const processorsDir = path.join(stack.dataDir, 'processors');
const celeryDir = path.join(stack.dataDir, 'celery-app');
const items = {
  type: 'object',
  properties: { item_a: { type: 'string', maxLength: 200 }, item_b: { type: 'string', maxLength: 200 } },
  required: ['item_a', 'item_b'],
};
const seconds = { type: 'object', properties: { seconds: { type: 'integer', minimum: 1, maximum: 60 } }, required: ['seconds'] };
const descriptors = [
  {
    name: 'elab',
    version: '1.0.0',
    description: 'The original system’s task, on its Celery worker.',
    fields: items,
    celery: { task: 'tasks.elab_file', queue },
  },
  { name: 'refuse', version: '1.0.0', description: 'A Celery task that raises.', fields: items, celery: { task: 'test_tasks.refuse', queue } },
  { name: 'hold', version: '1.0.0', description: 'A Celery task that takes its time.', fields: seconds, celery: { task: 'test_tasks.hold', queue } },
  // A run timeout: Celery's time limit header must survive its retry too.
  {
    name: 'flaky',
    version: '1.0.0',
    description: 'A Celery task that retries once.',
    fields: items,
    timeoutMs: 30_000,
    celery: { task: 'test_tasks.flaky', queue },
  },
  {
    name: 'first-lines',
    version: '1.0.0',
    description: 'Reads the files it is given, on the Celery worker.',
    files: { accept: ['text/plain'], minCount: 1, maxCount: 2 },
    celery: { task: 'test_tasks.first_lines', queue },
  },
  {
    name: 'text-of',
    version: '1.0.0',
    description: 'Returns `size` bytes.',
    fields: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } }, required: ['size'] },
    celery: { task: 'test_tasks.text_of', queue },
  },
  { name: 'hold-safely', version: '1.0.0', description: 'The same, acked late.', fields: seconds, celery: { task: 'test_tasks.hold_safely', queue } },
];

let gateway: Gateway;
let receiver: WebhookReceiver;
let celery: CeleryWorker | undefined;

beforeAll(async () => {
  if (!celeryInstalled()) throw new Error('Celery is not installed: run scripts/install-debian-packages.sh (python3-celery from Debian)');
  fs.mkdirSync(processorsDir);
  for (const descriptor of descriptors) fs.writeFileSync(path.join(processorsDir, `${descriptor.name}.json`), JSON.stringify(descriptor));
  writeCeleryApp(celeryDir);
  receiver = await startWebhookReceiver(secret, () => ({ status: 204 }));
  // The warren worker runs the deliverers (webhooks); the Celery worker runs the processors.
  [gateway] = await Promise.all([stack.gateway({ PROCESSORS_DIR: processorsDir }), stack.worker()]);
});

afterAll(async () => {
  await celery?.stop();
  await stack.stop();
  await receiver?.close();
  // What this run made outside its prefix: the Celery queue, the exchange Celery names after a
  // queue it consumes, and the reply queue. Celery's shared exchanges (celery, celery.pidbox…) stay.
  const connection = await amqp.connect(TEST_AMQP_URL);
  const channel = await connection.createChannel();
  await channel.deleteQueue(queue);
  await channel.deleteExchange(queue);
  // A Celery worker pointed at warren's ical queue declares an exchange named after it as well.
  await channel.deleteExchange(`${stack.prefix}.tasks.ical`);
  await channel.deleteQueue(`${stack.prefix}.celery-replies`);
  await connection.close();
});

async function celeryWorker(): Promise<CeleryWorker> {
  celery ??= await startCeleryWorker(celeryDir, queue, `warren-test-${randomUUID().slice(0, 8)}`);
  return celery;
}

async function submit(fields: Record<string, string>): Promise<string> {
  const response = await submitForm(gateway.url, fields);
  expect(response.status, await response.clone().text()).toBe(202);
  return ((await response.json()) as Submitted).task_id;
}

async function status(taskId: string): Promise<StatusDocument> {
  return (await (await fetch(`${gateway.url}/task_status/${taskId}`)).json()) as StatusDocument;
}

/** Poll task_status until `taskId` is `wanted` (bounded). */
async function statusOnceIn(taskId: string, wanted: string, timeoutMs = 15_000): Promise<StatusDocument> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const document = await status(taskId);
    if (document.status === wanted) return document;
    if (Date.now() > deadline) throw new Error(`task ${taskId} is ${document.status}, not ${wanted}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a processor served by an unchanged Celery worker', () => {
  it('waits, PENDING with no workers, while no Celery worker runs, and completes once one starts', async () => {
    const taskId = await submit({ processor: 'elab', item_a: 'Radio', item_b: 'Grundig' });
    expect(await status(taskId)).toMatchObject({ status: 'PENDING', workers: 0 });

    await celeryWorker();
    const final = await waitForTerminal(gateway.url, taskId);
    expect(final).toMatchObject({ status: 'SUCCESS', error: null });
    expect(await (await fetch(`${gateway.url}/task_result/${taskId}`)).json()).toBe('radio grundig');
  });

  it('revokes a cancelled task again at a worker that started after the cancel, once it reports the task STARTED', async () => {
    // No Celery worker runs when the cancel is broadcast: none hears it.
    await celery?.stop();
    celery = undefined;
    const taskId = await submit({ processor: 'hold', seconds: '30' });
    expect((await fetch(`${gateway.url}/task_cancel/${taskId}`, { method: 'POST', headers: { accept: 'application/json' } })).status).toBe(202);
    expect(await statusOnceIn(taskId, 'REVOKED')).toMatchObject({ error: { code: 'revoked' } });

    const late = await celeryWorker();
    await late.waitForLine(new RegExp(`Terminating ${taskId}`));
    expect(await status(taskId)).toMatchObject({ status: 'REVOKED' });
  });

  it('curl -d processor=elab -d item_a=TV -d item_b=Samsung: 202, SUCCESS, and the task result is "tv samsung"', async () => {
    await celeryWorker();
    const taskId = await submit({ processor: 'elab', item_a: 'TV', item_b: 'Samsung' });
    expect(await waitForTerminal(gateway.url, taskId)).toMatchObject({ status: 'SUCCESS', attempts: 1 });
    const result = await fetch(`${gateway.url}/task_result/${taskId}`);
    expect(result.status).toBe(200);
    expect(await result.text()).toContain('tv samsung');
    // Celery ran it under warren's task id.
    await celery!.waitForLine(new RegExp(`Task tasks\\.elab_file\\[${taskId}\\] succeeded`));
  });

  it('delivers a signed webhook with the Celery task’s result', async () => {
    await celeryWorker();
    const taskId = await submit({ processor: 'elab', item_a: 'Fridge', item_b: 'Bosch', webhook_url: receiver.url(`/hooks/${randomUUID()}`) });
    await receiver.waitFor((received) => received.some((r) => r.json.data.task_id === taskId));
    const webhook = receiver.received.find((r) => r.json.data.task_id === taskId)!;
    expect(webhook.verified).toBe(true);
    expect(webhook.json).toMatchObject({ type: 'task.completed', data: { status: 'SUCCESS', result: 'fridge bosch' } });
  });

  it('records a task whose Celery code raises as FAILURE with the exception’s message', async () => {
    await celeryWorker();
    const taskId = await submit({ processor: 'refuse', item_a: 'Toaster', item_b: 'Acme' });
    const final = await waitForTerminal(gateway.url, taskId);
    expect(final).toMatchObject({ status: 'FAILURE', error: { code: 'celery_ValueError', message: 'cannot elaborate Toaster by Acme' } });
    const result = await fetch(`${gateway.url}/task_result/${taskId}`);
    expect(result.status).toBe(409);
  });

  it('follows a Celery retry: STARTED, RETRY with the reason, then the next attempt to SUCCESS', async () => {
    await celeryWorker();
    const taskId = await submit({ processor: 'flaky', item_a: 'Oven', item_b: 'Miele' });
    // Celery's retry republishes the task with the same id and reply_to: its replies keep coming here.
    // Celery reports the exception the task retries for.
    expect(await statusOnceIn(taskId, 'RETRY')).toMatchObject({
      attempts: 1,
      error: { code: 'celery_ConnectionError', message: 'the model server is warming up' },
    });
    expect(await waitForTerminal(gateway.url, taskId)).toMatchObject({ status: 'SUCCESS', attempts: 2, error: null });
    expect(await (await fetch(`${gateway.url}/task_result/${taskId}`)).json()).toBe('oven miele after 1 retry');
  });

  it('gives a Celery task its input files as a `files` kwarg of paths on the shared volume', async () => {
    await celeryWorker();
    const form = new FormData();
    form.append('processor', 'first-lines');
    form.append('file', new Blob(['Invoice 42\nTotal: 10 EUR\n'], { type: 'text/plain' }), 'invoice.txt');
    form.append('file', new Blob(['Delivery note\n'], { type: 'text/plain' }), 'note.txt');
    const response = await fetch(`${gateway.url}/uploader`, { method: 'POST', body: form, headers: { accept: 'application/json' } });
    expect(response.status, await response.clone().text()).toBe(202);
    const { task_id } = (await response.json()) as Submitted;
    expect(await waitForTerminal(gateway.url, task_id)).toMatchObject({ status: 'SUCCESS' });
    expect(await (await fetch(`${gateway.url}/task_result/${task_id}`)).json()).toEqual(['Invoice 42', 'Delivery note']);
  });

  it('fails a task whose Celery result is over MAX_RESULT_BYTES as result_too_large', async () => {
    await celeryWorker();
    const [small, large] = await Promise.all([submit({ processor: 'text-of', size: '60000' }), submit({ processor: 'text-of', size: '70000' })]);
    expect(await waitForTerminal(gateway.url, small)).toMatchObject({ status: 'SUCCESS' });
    expect(await waitForTerminal(gateway.url, large)).toMatchObject({ status: 'FAILURE', error: { code: 'result_too_large' } });
  });

  it('publishes a PENDING row whose gateway died before the confirm to the Celery worker too (the task outbox)', async () => {
    await celeryWorker();
    // What a gateway that died mid-submit leaves: the row, no message, no confirm noted.
    const store = await openStore(`sqlite:${path.join(stack.dataDir, 'warren.db')}`);
    const taskId = randomUUID();
    try {
      await store.insertPending({
        id: taskId,
        processor: 'elab',
        input: { fields: { item_a: 'Outbox', item_b: 'Sweeper' }, files: [] },
        createdAt: Date.now() - 5000,
      });
    } finally {
      await store.close();
    }
    expect(await waitForTerminal(gateway.url, taskId, 20_000)).toMatchObject({ status: 'SUCCESS' });
    expect(await (await fetch(`${gateway.url}/task_result/${taskId}`)).json()).toBe('outbox sweeper');
  });

  it('runs a task again whose Celery worker died mid-run, with task_acks_late and task_reject_on_worker_lost', async () => {
    const crashing = await celeryWorker();
    const taskId = await submit({ processor: 'hold-safely', seconds: '2' });
    await statusOnceIn(taskId, 'STARTED');
    await crashing.kill();
    celery = undefined;
    // Unacked, the task went back to its queue: the next worker runs it.
    const next = await celeryWorker();
    expect(await waitForTerminal(gateway.url, taskId, 20_000)).toMatchObject({ status: 'SUCCESS', attempts: 1 });
    expect(await (await fetch(`${gateway.url}/task_result/${taskId}`)).json()).toBe('held safely');
    await next.waitForLine(new RegExp(`Task test_tasks\\.hold_safely\\[${taskId}\\] received`));
  });

  it('cancels at the Celery worker: a queued task is never run, a running one is terminated', async () => {
    const worker = await celeryWorker();
    // One pool process: `hold` occupies it (and reports STARTED), the elab task waits behind it.
    const running = await submit({ processor: 'hold', seconds: '30' });
    expect(await statusOnceIn(running, 'STARTED')).toMatchObject({ attempts: 1 });
    const queued = await submit({ processor: 'elab', item_a: 'Lamp', item_b: 'Ikea' });

    const cancel = (taskId: string): Promise<Response> =>
      fetch(`${gateway.url}/task_cancel/${taskId}`, { method: 'POST', headers: { accept: 'application/json' } });
    expect((await cancel(queued)).status).toBe(202);
    expect(await statusOnceIn(queued, 'REVOKED')).toMatchObject({ error: { code: 'revoked' } });
    expect((await cancel(running)).status).toBe(202);
    expect(await statusOnceIn(running, 'REVOKED')).toMatchObject({ error: { code: 'revoked' } });

    await worker.waitForLine(new RegExp(`Terminating ${running}`));
    await worker.waitForLine(new RegExp(`Discarding revoked task: tasks\\.elab_file\\[${queued}\\]`));
    // The worker goes on with the next task; neither cancelled one ever ran to its end.
    const next = await submit({ processor: 'elab', item_a: 'Kettle', item_b: 'Smeg' });
    expect(await waitForTerminal(gateway.url, next)).toMatchObject({ status: 'SUCCESS' });
    expect(worker.lines.filter((line) => line.includes(`[${queued}] succeeded`) || line.includes(`[${running}] succeeded`))).toEqual([]);
    expect(await status(queued)).toMatchObject({ status: 'REVOKED' });
  }, 40_000);
});

describe('a Celery worker pointed at a warren queue', () => {
  // ical: a processor warren's own queue has, and that no warren worker of this stack serves.
  const warrenQueue = (): string => `${stack.prefix}.tasks.ical`;

  it('stops at once: Celery 5.2 cannot declare a warren quorum queue', async () => {
    const worker = spawnCeleryWorker(celeryDir, ['-A', 'tasks', 'worker', '-Q', warrenQueue(), '--pool=solo'], `warren-test-${randomUUID().slice(0, 8)}`);
    try {
      await worker.waitForLine(/Unrecoverable error: PreconditionFailed.*inequivalent arg/);
    } finally {
      await worker.stop();
    }
  });

  it('cannot eat a warren task silently even when forced onto the queue: the task fails, dead_lettered_rejected', async () => {
    fs.writeFileSync(path.join(celeryDir, 'forced.py'), FORCED_PY.replace('QUEUE', warrenQueue()));
    const worker = spawnCeleryWorker(celeryDir, ['-A', 'forced', 'worker', '--pool=solo'], `warren-test-${randomUUID().slice(0, 8)}`);
    try {
      await worker.waitForLine(/ ready\.$/, 30_000);
      const response = await submitJson(gateway.url, { processor: 'ical', todos: [{ title: 'Send invoice', deadline_at: '2026-12-01T09:00:00Z' }] });
      expect(response.status).toBe(202);
      const { task_id } = (await response.json()) as Submitted;
      expect(await waitForTerminal(gateway.url, task_id)).toMatchObject({ status: 'FAILURE', error: { code: 'dead_lettered_rejected' } });
      await worker.waitForLine(/Received and deleted unknown message/);
    } finally {
      await worker.stop();
    }
  });
});

import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitForm, waitForTerminal, type StatusDocument, type Submitted } from '../support/client.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { testStack } from '../support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * POST task_cancel: a running task is aborted, a queued one never runs — also on a worker that
 * starts after the cancel — and a cancelled task delivers nothing. One task at a time per worker,
 * so a task can be kept waiting behind another.
 */
const secret = `whsec_${randomBytes(32).toString('base64')}`;
const stack = testStack('cancel', { WORKER_CONCURRENCY: '1', WEBHOOK_SECRET: secret, WEBHOOK_ALLOWLIST: '127.0.0.1' });
let gateway: Gateway;
let worker: WarrenProcess;
let receiver: WebhookReceiver;

const REVOKED = { status: 'REVOKED', error: { code: 'revoked', message: 'cancelled by request' } };

beforeAll(async () => {
  receiver = await startWebhookReceiver(secret, () => ({ status: 200 }));
  [gateway, worker] = await Promise.all([stack.gateway(), stack.worker()]);
});

afterAll(async () => {
  await stack.stop();
  await receiver?.close();
});

async function submit(fields: Record<string, string>): Promise<string> {
  const response = await submitForm(gateway.url, fields);
  expect(response.status).toBe(202);
  return ((await response.json()) as Submitted).task_id;
}

const cancel = (id: string): Promise<Response> => fetch(`${gateway.url}/task_cancel/${id}`, { method: 'POST' });
const status = async (id: string): Promise<StatusDocument> => (await (await fetch(`${gateway.url}/task_status/${id}`)).json()) as StatusDocument;

async function waitForStatus(id: string, wanted: string, timeoutMs = 10_000): Promise<StatusDocument> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const document = await status(id);
    if (document.status === wanted) return document;
    if (Date.now() > deadline) throw new Error(`task ${id} is ${document.status}, not ${wanted}, after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const logged = (process: WarrenProcess, msg: string, taskId: string) => process.waitForLog((line) => line.msg === msg && line.taskId === taskId, 10_000);

describe('cancelling a task', () => {
  it('aborts a running task at once, skips the cancelled task queued behind it, and the worker takes the next one', async () => {
    const running = await submit({ sleep_ms: '20000' });
    await waitForStatus(running, 'STARTED');
    const queued = await submit({ item_a: 'behind' });

    const began = Date.now();
    const first = await cancel(queued);
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ task_id: queued, ...REVOKED });
    const second = await cancel(running);
    expect(second.status).toBe(202);
    expect(await second.json()).toMatchObject({ task_id: running, ...REVOKED });

    await logged(worker, 'task cancelled while running; aborted it', running);
    await logged(worker, 'task was cancelled before it ran; skipping it', queued);
    const next = await submit({ item_a: 'next' });
    expect((await waitForTerminal(gateway.url, next, 10_000)).status).toBe('SUCCESS');
    expect(Date.now() - began).toBeLessThan(10_000);

    // The aborted run published nothing after the cancel: both stay REVOKED, and nothing is served.
    expect(await status(running)).toMatchObject(REVOKED);
    expect(await status(queued)).toMatchObject({ ...REVOKED, started_at: null });
    expect((await fetch(`${gateway.url}/task_result/${queued}`)).status).toBe(409);
  });

  it('holds for a queued task while no worker runs: a worker started afterwards skips it; it delivers no files, only a task.revoked webhook', async () => {
    await worker.stop();
    const id = await submit({ item_a: 'never', volume: 'true', webhook_url: receiver.url('/cancelled') });
    const response = await cancel(id);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject(REVOKED);

    worker = await stack.worker();
    await logged(worker, 'task was cancelled before it ran; skipping it', id);
    // The queue is FIFO with one task at a time: once a later task succeeded, the cancelled one is behind us.
    const later = await submit({ item_a: 'later', webhook_url: receiver.url('/later') });
    expect((await waitForTerminal(gateway.url, later, 10_000)).status).toBe('SUCCESS');
    await receiver.waitFor((received) => received.some((r) => r.path === '/later'));

    const document = (await status(id)) as StatusDocument & { deliveries: { target: string; state: string; last_error: { code: string } | null }[] };
    expect(document).toMatchObject({ ...REVOKED, started_at: null });
    expect(fs.existsSync(path.join(stack.dataDir, 'results', id))).toBe(false);
    // The webhook says the task was revoked (whoever cancelled it, its submitter hears of it); files wait for results that never come.
    await receiver.waitFor((received) => received.some((r) => r.path === '/cancelled'));
    const notified = receiver.received.filter((r) => r.path === '/cancelled');
    expect(notified.map((r) => [r.json.type, r.json.data.status])).toEqual([['task.revoked', 'REVOKED']]);
    expect(notified[0]!.json.data).not.toHaveProperty('result');
    expect(document.deliveries.find((d) => d.target === 'volume')).toMatchObject({ state: 'FAILED', last_error: { code: 'task_revoked' } });
  });

  it('answers 200 with the document when the task was cancelled already, and 409 task_finished once it ended otherwise', async () => {
    const id = await submit({ item_a: 'done' });
    expect((await waitForTerminal(gateway.url, id)).status).toBe('SUCCESS');
    const finished = await cancel(id);
    expect(finished.status).toBe(409);
    expect(await finished.json()).toMatchObject({ error: { code: 'task_finished', status: 'SUCCESS' } });
    expect((await status(id)).status).toBe('SUCCESS');

    const revoked = await submit({ sleep_ms: '20000' });
    expect((await cancel(revoked)).status).toBe(202);
    const again = await cancel(revoked);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject(REVOKED);
  });

  it('answers 404 for an unknown task and 400 for a malformed id', async () => {
    const unknown = await cancel(randomUUID());
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'task_not_found' } });
    const malformed = await cancel('not-a-task');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: 'invalid_task_id' } });
  });
});

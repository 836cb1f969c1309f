import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitForm, type Submitted } from '../support/client.js';
import { freePort } from '../support/ports.js';
import { parseMetrics, sample } from '../support/metrics.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { testStack } from '../support/stack.js';
import { attemptsOf, expectInOrder, expectStartedSentOrSkipped, settled } from '../support/webhook-order.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * What a receiver of webhooks can count on, with real gateway and worker processes and a receiver
 * on 127.0.0.1: a task's final notification never arrives before its started one (even when the
 * receiver is slow to take the started one), the body's status agrees with its type, links in it
 * are absolute, and the worker's /metrics count what was delivered.
 */
const secret = `whsec_${randomBytes(32).toString('base64')}`;
const PUBLIC_URL = 'https://ml.example.com/edge';
const stack = testStack('webhook-order', {
  WEBHOOK_SECRET: secret,
  WEBHOOK_ALLOWLIST: '127.0.0.1',
  DELIVERY_CONCURRENCY: '16',
  // Room for every notification at once to the one receiver: nothing serialises them but the order itself.
  DELIVERY_DESTINATION_CONCURRENCY: '16',
});
let gateway: Gateway;
let worker: WarrenProcess;
let receiver: WebhookReceiver;
let workerMetricsUrl: string;

beforeAll(async () => {
  // A slow receiver of started notifications: were the final one sent meanwhile, it would overtake.
  receiver = await startWebhookReceiver(secret, (request) => ({
    status: 204,
    ...(request.path.startsWith('/slow') && request.json.type === 'task.started' ? { delayMs: 600 } : {}),
  }));
  const metricsPort = await freePort();
  [gateway, worker] = await Promise.all([
    stack.gateway(),
    stack.worker({
      METRICS_PORT: String(metricsPort),
      WORKER_CONCURRENCY: '4',
      // STARTED for every run, however short: a task's STARTED and FAILURE then reach the gateway
      // together, the race a started notification must not win against the final one.
      STARTED_REPORT_DELAY_MS: '0',
    }),
  ]);
  const listening = await worker.waitForLog((line) => line.msg === 'metrics listening');
  workerMetricsUrl = `http://127.0.0.1:${String(listening.port)}/metrics`;
});

afterAll(async () => {
  await stack.stop();
  await receiver?.close();
});

async function submit(url: string, fields: Record<string, string>): Promise<string> {
  const response = await submitForm(url, fields);
  expect(response.status, await response.clone().text()).toBe(202);
  return ((await response.json()) as Submitted).task_id;
}

describe('webhook order', () => {
  it('sends a failing task’s final notification (task.failed) only after its started one was answered, however slowly', async () => {
    const paths = Array.from({ length: 4 }, (_, i) => `/slow/${Date.now()}/${i}`);
    const ids = await Promise.all(
      paths.map((path) => submit(gateway.url, { fail: 'boom', sleep_ms: '200', webhook_url: receiver.url(path), webhook_events: 'started,completed' })),
    );
    for (const [index, id] of ids.entries()) {
      const requests = await settled(receiver, gateway.url, id, paths[index]!);
      // The task ran for 200 ms; the receiver took 600 ms over "started": both arrived, in order.
      expect(requests.map((r) => r.json.type)).toEqual(['task.started', 'task.failed']);
      expectInOrder(requests, 'task.failed', 'FAILURE');
      expect((await attemptsOf(gateway.url, id)).map((a) => [a.event, a.outcome])).toEqual([
        ['started', 'DELIVERED'],
        ['completed', 'DELIVERED'],
      ]);
    }
  });

  it('never delivers a started notification after the final one, for many tasks that fail at once', async () => {
    const stamp = Date.now();
    const paths = Array.from({ length: 24 }, (_, i) => `/${i % 2 === 0 ? 'slow' : 'fast'}/${stamp}/${i}`);
    const ids = await Promise.all(
      paths.map((path) => submit(gateway.url, { fail: 'boom', webhook_url: receiver.url(path), webhook_events: 'started,completed' })),
    );
    const outcomes = new Map<string, number>();
    for (const [index, id] of ids.entries()) {
      const requests = await settled(receiver, gateway.url, id, paths[index]!);
      expectInOrder(requests, 'task.failed', 'FAILURE');
      const outcome = expectStartedSentOrSkipped(await attemptsOf(gateway.url, id));
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    // For the record in the test output: how often the started notice lost the race and was dropped.
    console.info('started notifications of 24 fast failing tasks:', Object.fromEntries(outcomes));
  });

  it('puts absolute links in the body: from PUBLIC_URL, else from the address the task was submitted to', async () => {
    const direct = await submit(gateway.url, { item_a: 'TV', webhook_url: receiver.url(`/links/direct/${Date.now()}`) });
    await receiver.waitFor((all) => all.some((r) => r.json.data.task_id === direct));
    const body = (id: string): Record<string, unknown> => receiver.received.find((r) => r.json.data.task_id === id)!.json.data;
    expect(body(direct)).toMatchObject({ status_url: `${gateway.url}/task_status/${direct}`, result_url: `${gateway.url}/task_result/${direct}` });
    // The link works where the receiver is.
    expect((await fetch(body(direct).status_url as string)).status).toBe(200);

    // The same store behind a reverse proxy: replicas share one PUBLIC_URL, so this one alone runs now.
    const proxied = await stack.gateway({ PUBLIC_URL });
    await gateway.stop();
    const viaProxy = await submit(proxied.url, { item_a: 'TV', webhook_url: receiver.url(`/links/proxy/${Date.now()}`) });
    await receiver.waitFor((all) => all.some((r) => r.json.data.task_id === viaProxy));
    expect(body(viaProxy)).toMatchObject({
      status: 'SUCCESS',
      status_url: `${PUBLIC_URL}/prediction/task_status/${viaProxy}`,
      result_url: `${PUBLIC_URL}/prediction/task_result/${viaProxy}`,
    });
    // Answers to requests keep their paths: they work wherever the client reached the gateway.
    const document = (await (await fetch(`${proxied.url}/task_status/${viaProxy}`)).json()) as { status_url: string };
    expect(document.status_url).toBe(`/prediction/task_status/${viaProxy}`);
  });

  it('counts delivery attempts, outcomes and their time in the worker’s /metrics, by target kind and never by URL', async () => {
    const text = await (await fetch(workerMetricsUrl)).text();
    const samples = parseMetrics(text);
    expect(sample(samples, 'warren_worker_deliveries_total', { target: 'webhook', outcome: 'delivered' })).toBeGreaterThanOrEqual(30);
    expect(sample(samples, 'warren_worker_delivery_attempts_total', { target: 'webhook', event: 'started' })).toBeGreaterThanOrEqual(4);
    expect(sample(samples, 'warren_worker_delivery_attempts_total', { target: 'webhook', event: 'completed' })).toBeGreaterThanOrEqual(30);
    expect(sample(samples, 'warren_worker_delivery_seconds_count', { target: 'webhook' })).toBeGreaterThanOrEqual(30);
    expect(sample(samples, 'warren_worker_deliveries_total', { target: 's3', outcome: 'failed' })).toBe(0);
    expect(text).not.toContain('127.0.0.1');
  });
});

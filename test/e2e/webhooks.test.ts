import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskEvent } from '../../shared/index.js';
import { openStore } from '../../gateway/store/index.js';
import { submitForm, waitForTerminal, type StatusDocument, type Submitted } from '../support/client.js';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * Signed webhooks end to end: real gateway and worker processes, a receiver on 127.0.0.1 that
 * verifies every signature with the standardwebhooks library. The loopback receiver is reachable
 * only because this stack allowlists 127.0.0.1 (WEBHOOK_ALLOWLIST); a second gateway without the
 * allowlist shows the SSRF guard refusing it.
 */
const secret = `whsec_${randomBytes(32).toString('base64')}`;
const stack = testStack('webhooks', {
  WEBHOOK_SECRET: secret,
  WEBHOOK_ALLOWLIST: '127.0.0.1',
  DELIVERY_RETRY_DELAYS_MS: '200,400',
  DELIVERY_SWEEP_GRACE_MS: '2000',
});
let gateway: Gateway;
let guarded: Gateway;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver(secret, (request, count) => {
    if (request.path.startsWith('/flaky')) return { status: count <= 3 ? 503 : 200 };
    if (request.path.startsWith('/gone')) return { status: 410 };
    return { status: 204 };
  });
  [gateway, guarded] = await Promise.all([stack.gateway(), stack.gateway({ WEBHOOK_ALLOWLIST: '' }), stack.worker()]);
});

afterAll(async () => {
  await stack.stop();
  await receiver?.close();
});

interface Delivery {
  target: string;
  state: string;
  attempts: number;
  round: number;
  last_http_status: number | null;
  last_error: { code: string } | null;
  attempts_url: string;
}

async function submitWithWebhook(path: string, extra: Record<string, string> = {}): Promise<string> {
  const response = await submitForm(gateway.url, { item_a: 'TV', webhook_url: receiver.url(path), ...extra });
  expect(response.status, await response.clone().text()).toBe(202);
  return ((await response.json()) as Submitted).task_id;
}

/** The webhook target of a task, once its delivery state is `state` (bounded poll). */
async function deliveryOnceIn(taskId: string, state: string, timeoutMs = 15_000): Promise<Delivery> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const document = (await (await fetch(`${gateway.url}/task_status/${taskId}`)).json()) as StatusDocument & { deliveries: Delivery[] };
    const delivery = document.deliveries.find((d) => d.target === 'webhook');
    if (delivery?.state === state) return delivery;
    if (Date.now() > deadline) throw new Error(`webhook of ${taskId} is ${JSON.stringify(delivery)}, not ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('webhooks', () => {
  it('POSTs the finished task, signed so the standardwebhooks library verifies it, with the result inline', async () => {
    const taskId = await submitWithWebhook(`/ok/${Date.now()}`);
    await receiver.waitFor((all) => all.some((r) => r.json.data.task_id === taskId));
    const request = receiver.received.find((r) => r.json.data.task_id === taskId)!;
    expect(request.verified).toBe(true);
    expect(request.json.type).toBe('task.completed');
    expect(request.json.data).toMatchObject({ task_id: taskId, status: 'SUCCESS', result: { fields: { item_a: 'TV' }, files: [] } });
    expect(request.headers['webhook-id']).toMatch(/^[0-9a-f-]{36}$/);

    // A tampered body, or a wrong secret, does not verify.
    expect(() => new Webhook(secret).verify(request.body.replace('SUCCESS', 'FAILURE'), request.headers)).toThrow();
    expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(request.body, request.headers)).toThrow();

    const delivery = await deliveryOnceIn(taskId, 'DELIVERED');
    expect(delivery).toMatchObject({ attempts: 1, round: 1, last_http_status: 204, last_error: null });
    expect((await waitForTerminal(gateway.url, taskId)).status).toBe('SUCCESS'); // delivery never changes the task's status
  });

  it('retries a receiver that fails three times, with the same webhook-id, until it takes the result; the attempts are listed', async () => {
    const path = `/flaky/${Date.now()}`;
    const taskId = await submitWithWebhook(path);
    const delivery = await deliveryOnceIn(taskId, 'DELIVERED');
    expect(delivery).toMatchObject({ attempts: 4, last_http_status: 200 });

    const requests = receiver.received.filter((r) => r.path === path);
    expect(requests).toHaveLength(4);
    expect(requests.every((r) => r.verified)).toBe(true);
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);

    const listing = (await (await fetch(`${gateway.url}${delivery.attempts_url.replace(/^\/prediction/, '')}`)).json()) as {
      attempts: { attempt: number; outcome: string; http_status: number }[];
    };
    expect(listing.attempts.map((a) => [a.attempt, a.outcome, a.http_status])).toEqual([
      [1, 'RETRY', 503],
      [2, 'RETRY', 503],
      [3, 'RETRY', 503],
      [4, 'DELIVERED', 200],
    ]);
  });

  it('stops at once when the receiver answers 410 Gone', async () => {
    const path = `/gone/${Date.now()}`;
    const taskId = await submitWithWebhook(path);
    const delivery = await deliveryOnceIn(taskId, 'FAILED');
    expect(delivery).toMatchObject({ attempts: 1, last_http_status: 410, last_error: { code: 'webhook_gone' } });
    expect(receiver.received.filter((r) => r.path === path)).toHaveLength(1);

    // The operator sees it on the dashboard.
    const dashboard = (await (await fetch(`${gateway.url}/dashboard.json`)).json()) as {
      delivery_problems: { task_id: string; target: string; state: string }[];
    };
    expect(dashboard.delivery_problems).toContainEqual(expect.objectContaining({ task_id: taskId, target: 'webhook', state: 'FAILED' }));
    expect(await (await fetch(`${gateway.url}/dashboard`)).text()).toContain('Delivery problems');
  });

  it('redelivers a finished target on demand, as a new round with a new webhook-id', async () => {
    const path = `/again/${Date.now()}`;
    const taskId = await submitWithWebhook(path);
    await deliveryOnceIn(taskId, 'DELIVERED');
    const response = await fetch(`${gateway.url}/task_deliveries/${taskId}/webhook/redeliver`, { method: 'POST' });
    expect(response.status).toBe(202);
    await receiver.waitFor((all) => all.filter((r) => r.path === path).length === 2);
    const [first, second] = receiver.received.filter((r) => r.path === path);
    expect(second!.headers['webhook-id']).not.toBe(first!.headers['webhook-id']);
    expect(await deliveryOnceIn(taskId, 'DELIVERED')).toMatchObject({ round: 2, attempts: 1 });
  });

  it('sends started notifications when asked, besides the completed one', async () => {
    const path = `/events/${Date.now()}`;
    // Long enough to be reported STARTED (STARTED_REPORT_DELAY_MS); a faster task sends only the final one (webhook-order.test.ts).
    const taskId = await submitWithWebhook(path, { webhook_events: 'started,completed', sleep_ms: '300' });
    await receiver.waitFor((all) => all.filter((r) => r.path === path).length === 2);
    const types = receiver.received.filter((r) => r.path === path).map((r) => r.json.type);
    expect(types.sort()).toEqual(['task.completed', 'task.started']);
    expect((await waitForTerminal(gateway.url, taskId)).status).toBe('SUCCESS');
  });

  it('sends the webhook of a task whose gateway died between its commit and the publish (the sweeper)', async () => {
    // What a gateway crash leaves behind: the task recorded SUCCESS, its target never enqueued.
    const store = await openStore(`sqlite:${path.join(stack.dataDir, 'warren.db')}`);
    const taskId = randomUUID();
    const url = receiver.url(`/orphan/${Date.now()}`);
    try {
      await store.insertPending({ id: taskId, processor: 'echo', input: { fields: { item_a: 'orphan' }, files: [] }, createdAt: Date.now() });
      await store.deliveries.create(taskId, [{ targetId: 'webhook', target: { kind: 'webhook', url, events: ['completed'] } }], Date.now());
      await store.applyEvents([taskEvent({ task_id: taskId, processor: 'echo' }, { status: 'SUCCESS', attempt: 1, result: { swept: true } })]);
    } finally {
      await store.close();
    }
    await receiver.waitFor((all) => all.some((r) => r.json.data.task_id === taskId), 20_000);
    expect(receiver.received.find((r) => r.json.data.task_id === taskId)!.json.data.result).toEqual({ swept: true });
    expect(await deliveryOnceIn(taskId, 'DELIVERED')).toMatchObject({ attempts: 1 });
  });

  it.each([
    ['a loopback address that is not allowlisted', 'http://127.0.0.1:9/hook'],
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['a private address', 'http://10.0.0.1/'],
    ['a host name that resolves to loopback', 'http://localhost:9/hook'],
    ['an IPv6 loopback', 'http://[::1]:9/hook'],
    ['a non-HTTP scheme', 'file:///etc/passwd'],
  ])('refuses a webhook_url at %s with 400', async (_what, url) => {
    const response = await submitForm(guarded.url, { item_a: 'TV', webhook_url: url });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toMatch(/^(webhook_url_not_public|invalid_webhook_url)$/);
  });

  it('refuses unknown destinations and malformed delivery fields with 400', async () => {
    const cases: Record<string, string>[] = [
      { s3: 'nowhere' },
      { ftp: 'nowhere' },
      { volume: 'maybe' },
      { webhook_events: 'completed' },
      { volume: 'true', volume_path: '../etc' },
    ];
    for (const fields of cases) {
      const response = await submitForm(gateway.url, { item_a: 'TV', ...fields });
      expect(response.status, JSON.stringify(fields)).toBe(400);
    }
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitForm, type Submitted } from '../support/client.js';
import { parseMetrics, sample } from '../support/metrics.js';
import { createTestSchema, type TestSchema } from '../support/postgres.js';
import type { Gateway } from '../support/processes.js';
import { testStack, type TestStack } from '../support/stack.js';
import { attemptsOf, expectInOrder, expectStartedSentOrSkipped, settled } from '../support/webhook-order.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * The webhook order with replicas: two gateways on one PostgreSQL store compete for the events, so
 * a task's STARTED and FAILURE are often applied by different recorders, and its started notice
 * and final notification are decided by different processes. The store alone keeps them in order.
 */
const secret = `whsec_${randomBytes(32).toString('base64')}`;
let schema: TestSchema;
let stack: TestStack;
let gateways: Gateway[];
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver(secret, (request) => ({ status: 204, ...(request.json.type === 'task.started' ? { delayMs: 300 } : {}) }));
  schema = await createTestSchema();
  stack = testStack('webhook-order-pg', {
    STORE_URL: schema.url,
    WEBHOOK_SECRET: secret,
    WEBHOOK_ALLOWLIST: '127.0.0.1',
    DELIVERY_DESTINATION_CONCURRENCY: '16',
    // Recorders take small batches, so the two gateways share a task's events more often.
    RECORDER_PREFETCH: '4',
  });
  const [, ...started] = await Promise.all([stack.worker({ STARTED_REPORT_DELAY_MS: '0', WORKER_CONCURRENCY: '8' }), stack.gateway(), stack.gateway()]);
  gateways = started;
});

afterAll(async () => {
  await stack?.stop();
  await schema?.drop();
  await receiver?.close();
});

describe('webhook order with two gateways on PostgreSQL', () => {
  it('never delivers a started notification after the final one, whichever gateway decides each', async () => {
    const stamp = Date.now();
    const tasks = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const path = `/pg/${stamp}/${i}`;
        // Some fail at once, some after a while: the started notice loses the race or goes first.
        const fields = { fail: 'boom', webhook_url: receiver.url(path), webhook_events: 'started,completed', ...(i % 4 === 0 ? { sleep_ms: '150' } : {}) };
        const response = await submitForm(gateways[i % 2]!.url, fields);
        expect(response.status).toBe(202);
        return { id: ((await response.json()) as Submitted).task_id, path };
      }),
    );
    const outcomes = new Map<string, number>();
    let superseded = 0;
    for (const { id, path } of tasks) {
      const requests = await settled(receiver, gateways[0]!.url, id, path);
      expectInOrder(requests, 'task.failed', 'FAILURE');
      const attempts = await attemptsOf(gateways[1]!.url, id);
      const outcome = expectStartedSentOrSkipped(attempts);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (attempts.some((a) => a.error?.code === 'superseded')) superseded += 1;
    }
    // The gateways count the notices they decided: summed, the superseded ones match the listings.
    const noticeCount = async (outcome: string): Promise<number> => {
      let total = 0;
      for (const gateway of gateways)
        total += sample(parseMetrics(await (await fetch(new URL('/metrics', gateway.url))).text()), 'warren_webhook_notices_total', { outcome }) ?? 0;
      return total;
    };
    expect(await noticeCount('superseded')).toBe(superseded);
    expect(await noticeCount('enqueued')).toBeGreaterThanOrEqual(outcomes.get('DELIVERED') ?? 0);
    console.info('started notifications of 20 failing tasks, two gateways:', Object.fromEntries(outcomes));
    // The slow ones started well before they failed: their notices went, first.
    expect(outcomes.get('DELIVERED') ?? 0).toBeGreaterThanOrEqual(5);
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';
import { connectionGauge, startTarpit, type Tarpit } from '../support/tarpit.js';
import { startUnacceptingServer, type UnacceptingServer } from '../support/unaccepting-server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * Delivery fairness (issue 13): one API key's dead webhook endpoints must not hold up another
 * key's webhooks. Real gateway and worker processes; `alice` points 40 tasks at tarpits
 * (endpoints that accept the connection and never answer), 28 at one and 12 at three others, then
 * `bob` submits one task whose receiver answers at once. Before the per-destination and per-key caps, alice's attempts took
 * every delivery slot of the worker for WEBHOOK_TIMEOUT_MS (15 s) each and bob waited behind
 * them: 27.7 s measured from outside.
 *
 * The worker runs with the defaults that matter here: DELIVERY_CONCURRENCY 16, so 4 per
 * destination and 8 per key; a job whose destination or key is at its cap waits in the worker at
 * most DELIVERY_DEFER_AFTER_MS (1 s) and is then handed back to the broker for later.
 */
const secret = `whsec_${randomBytes(32).toString('base64')}`;
const SECRETS = { alice: 'alice-0123456789abcdef', bob: 'bob-0123456789abcdef00' };
const API_KEYS = Object.entries(SECRETS)
  .map(([name, key]) => `${name}:${key}`)
  .join(',');
/** Bob's webhook must arrive within this of his submit: generous for a loaded 2-core machine, far below the 15 s of one tarpit attempt. */
const BOB_BOUND_MS = 4000;
const stack = testStack('fairness', {
  API_KEYS,
  RATE_LIMIT: '0',
  WEBHOOK_SECRET: secret,
  WEBHOOK_ALLOWLIST: '127.0.0.1',
  WEBHOOK_CONNECT_TIMEOUT_MS: '1000',
});
let gateway: Gateway;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver(secret, () => ({ status: 204 }));
  [gateway] = await Promise.all([stack.gateway(), stack.worker()]);
}, 60_000);

afterAll(async () => {
  await stack.stop();
  await receiver?.close();
}, 60_000);

type Who = keyof typeof SECRETS;

interface WebhookDelivery {
  state: string;
  attempts: number;
  last_error: { code: string } | null;
  attempts_url: string;
}

async function submit(who: Who, webhookUrl: string): Promise<string> {
  const response = await fetch(`${gateway.url}/uploader`, {
    method: 'POST',
    body: JSON.stringify({ item_a: `by ${who}`, webhook_url: webhookUrl }),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRETS[who]}` },
  });
  expect(response.status, await response.clone().text()).toBe(202);
  return ((await response.json()) as { task_id: string }).task_id;
}

async function webhookOf(who: Who, taskId: string): Promise<WebhookDelivery | undefined> {
  const response = await fetch(`${gateway.url}/task_status/${taskId}`, { headers: { authorization: `Bearer ${SECRETS[who]}` } });
  const document = (await response.json()) as { deliveries: (WebhookDelivery & { target: string })[] };
  return document.deliveries.find((d) => d.target === 'webhook');
}

/** Polls until every task's webhook delivery satisfies `done` (bounded). */
async function untilEvery(who: Who, taskIds: string[], done: (delivery: WebhookDelivery) => boolean, timeoutMs: number): Promise<WebhookDelivery[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const deliveries = await Promise.all(taskIds.map((id) => webhookOf(who, id)));
    if (deliveries.every((d) => d !== undefined && done(d))) return deliveries as WebhookDelivery[];
    if (Date.now() > deadline)
      throw new Error(
        `not every webhook got there within ${timeoutMs} ms: ${JSON.stringify(deliveries.map((d) => d && [d.state, d.attempts, d.last_error?.code]))}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('delivery fairness', () => {
  const tarpits: Tarpit[] = [];
  afterAll(() => Promise.all(tarpits.map((tarpit) => tarpit.close())));

  it("delivers another key's webhook within a few seconds while one key's 40 webhooks hang at tarpits, and delivers those too once they answer", async () => {
    const alicesHeld = connectionGauge();
    tarpits.push(...(await Promise.all([1, 2, 3, 4].map(() => startTarpit(alicesHeld)))));
    const [main, ...others] = tarpits as [Tarpit, ...Tarpit[]];
    // 28 at one tarpit: it gets as many connections as one destination may have (4) and no more.
    const atMain = await Promise.all(Array.from({ length: 28 }, (_, i) => submit('alice', main.url(`/alice/${i}`))));
    await until(() => main.own.open >= 4, 10_000, 'the first tarpit holding 4 connections');
    // 12 more across three other tarpits: together they get what is left of alice's 8.
    const atOthers = await Promise.all(Array.from({ length: 12 }, (_, i) => submit('alice', others[i % 3]!.url(`/alice/${28 + i}`))));
    const alices = [...atMain, ...atOthers];
    // Every one of alice's jobs is in the deliveries queue, and the worker holds what it will give her.
    await untilEvery('alice', alices, (d) => d.state === 'DELIVERING', 15_000);
    await until(() => alicesHeld.open >= 8, 10_000, "alice's tarpits holding 8 connections");

    const submittedAt = Date.now();
    const bobs = await submit('bob', receiver.url('/bob'));
    // Waits longer than the bound, so that a failure says how late bob's webhook was.
    await receiver.waitFor((all) => all.some((r) => r.json.data.task_id === bobs), 45_000);
    const bobWebhookMs = Date.now() - submittedAt;
    console.log(
      JSON.stringify({ fairness: { bob_webhook_ms: bobWebhookMs, alice_peak_connections: alicesHeld.peak, per_tarpit_peak: tarpits.map((t) => t.own.peak) } }),
    );
    expect(bobWebhookMs).toBeLessThan(BOB_BOUND_MS);
    // What alice's dead endpoints got of the worker: 8 slots (her key's share), 4 of them at one endpoint.
    expect(alicesHeld.peak).toBe(8);
    expect(main.own.peak).toBe(4);

    // The endpoints wake up: the held requests are answered, the deferred ones come back and land.
    const receiverPort = Number(new URL(receiver.url('/')).port);
    for (const tarpit of tarpits) tarpit.wakeUp(receiverPort);
    const delivered = await untilEvery('alice', alices, (d) => d.state === 'DELIVERED', 20_000);
    // Waiting for a slot is not an attempt: each went out once.
    expect(delivered.map((d) => d.attempts)).toEqual(alices.map(() => 1));
    expect(new Set(receiver.received.filter((r) => r.path.startsWith('/alice/')).map((r) => r.json.data.task_id))).toEqual(new Set(alices));
  }, 90_000);

  it('gives up on an endpoint that never accepts the connection after WEBHOOK_CONNECT_TIMEOUT_MS, not WEBHOOK_TIMEOUT_MS, and delivers once it accepts', async () => {
    const deaf: UnacceptingServer = await startUnacceptingServer();
    try {
      // As many as one destination may run at once, so that all of them are attempted right away.
      const alices = await Promise.all(Array.from({ length: 4 }, (_, i) => submit('alice', deaf.url(`/deaf/${i}`))));
      const retrying = await untilEvery('alice', alices, (d) => d.attempts >= 1 && d.last_error !== null, 15_000);
      expect(new Set(retrying.map((d) => d.last_error?.code))).toEqual(new Set(['webhook_connect_timeout']));
      const listing = (await (
        await fetch(`${gateway.url}${retrying[0]!.attempts_url.replace(/^\/prediction/, '')}`, { headers: { authorization: `Bearer ${SECRETS.alice}` } })
      ).json()) as {
        attempts: { outcome: string; duration_ms: number }[];
      };
      // 1 s of connect timeout, not the 15 s of the whole request.
      expect(listing.attempts[0]).toMatchObject({ outcome: 'RETRY' });
      expect(listing.attempts[0]!.duration_ms).toBeLessThan(3000);

      deaf.resume();
      await untilEvery('alice', alices, (d) => d.state === 'DELIVERED', 20_000);
      expect(new Set(deaf.answered)).toEqual(new Set(alices.map((_, i) => `/deaf/${i}`)));
    } finally {
      await deaf.close();
    }
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitForm, waitForTerminal, type Submitted } from '../support/client.js';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/** Idempotency-Key: a retried submit names the first task and never runs the work twice. */
const stack = testStack('idempotency');
let gatewayA: Gateway;
let gatewayB: Gateway;

beforeAll(async () => {
  [, gatewayA, gatewayB] = await Promise.all([stack.worker(), stack.gateway(), stack.gateway()]);
});

afterAll(() => stack.stop());

function submitWithKey(url: string, key: string, fields: Record<string, string>): Promise<Response> {
  return fetch(`${url}/uploader`, { method: 'POST', body: new URLSearchParams(fields), headers: { 'idempotency-key': key, accept: 'application/json' } });
}

describe('Idempotency-Key', () => {
  it('returns the same task for the same key, on any replica, even when the retries race', async () => {
    const key = `order-${Date.now()}`;
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, n) => submitWithKey(n % 2 ? gatewayA.url : gatewayB.url, key, { item_a: 'TV', item_b: 'Samsung' })),
    );
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as Submitted[];
    expect(responses.map((r) => r.status)).toEqual([202, 202, 202, 202, 202, 202]);
    expect(new Set(bodies.map((b) => b.task_id)).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(5);
    expect((await waitForTerminal(gatewayA.url, bodies[0]!.task_id)).status).toBe('SUCCESS');
    // It ran once: one task in the store for six submits.
    const listing = (await (await fetch(`${gatewayA.url}/dashboard.json?limit=200`)).json()) as { tasks: { task_id: string }[] };
    expect(listing.tasks.filter((t) => t.task_id === bodies[0]!.task_id)).toHaveLength(1);
  });

  it('refuses the same key for a different request with 409', async () => {
    const key = `reused-${Date.now()}`;
    expect((await submitWithKey(gatewayA.url, key, { item_a: 'one' })).status).toBe(202);
    const second = await submitWithKey(gatewayA.url, key, { item_a: 'two' });
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ error: { code: 'idempotency_key_reused' } });
  });

  it('refuses a malformed key with 400, and submits without a key stay independent', async () => {
    const bad = await submitWithKey(gatewayA.url, 'has spaces in it', { item_a: 'x' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_idempotency_key' } });
    const [first, second] = (await Promise.all([submitForm(gatewayA.url, { item_a: 'x' }), submitForm(gatewayA.url, { item_a: 'x' })]).then((rs) =>
      Promise.all(rs.map((r) => r.json())),
    )) as Submitted[];
    expect(first!.task_id).not.toBe(second!.task_id);
  });
});

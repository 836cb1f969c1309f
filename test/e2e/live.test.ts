import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitForm, type Submitted } from '../support/client.js';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';
import { readEvents } from '../support/sse.js';

/** Live status: Server-Sent Events and `Prefer: wait`, through either of two gateway replicas. */
const stack = testStack('live', {});
let gatewayA: Gateway;
let gatewayB: Gateway;

beforeAll(async () => {
  [, gatewayA, gatewayB] = await Promise.all([stack.worker(), stack.gateway(), stack.gateway()]);
});

afterAll(() => stack.stop());

function submitWaiting(url: string, fields: Record<string, string>, wait: number): Promise<Response> {
  return fetch(`${url}/uploader`, { method: 'POST', body: new URLSearchParams(fields), headers: { prefer: `wait=${wait}`, accept: 'application/json' } });
}

describe('Prefer: wait', () => {
  it('returns the finished task with its result from the submit itself', async () => {
    const response = await submitWaiting(gatewayA.url, { item_a: 'TV', item_b: 'Samsung' }, 10);
    expect(response.status).toBe(200);
    expect(response.headers.get('preference-applied')).toBe('wait=10');
    expect(await response.json()).toMatchObject({ status: 'SUCCESS', result: { fields: { item_a: 'TV', item_b: 'Samsung' } } });
  });

  it('answers 202 as usual when the task outlasts the wait', async () => {
    const began = Date.now();
    const response = await submitWaiting(gatewayA.url, { sleep_ms: '3000' }, 1);
    expect(response.status).toBe(202);
    expect(Date.now() - began).toBeGreaterThanOrEqual(900);
    expect(Date.now() - began).toBeLessThan(2500);
  });

  it('makes task_status wait for the end, on another replica than the submit', async () => {
    const { task_id } = (await (await submitForm(gatewayA.url, { sleep_ms: '400' })).json()) as Submitted;
    const response = await fetch(`${gatewayB.url}/task_status/${task_id}`, { headers: { prefer: 'wait=10' } });
    expect(await response.json()).toMatchObject({ status: 'SUCCESS' });
  });

  it('refuses to wait longer than MAX_WAIT_SECONDS', async () => {
    const { task_id } = (await (await submitForm(gatewayA.url, { item_a: 'x' })).json()) as Submitted;
    const response = await fetch(`${gatewayA.url}/task_status/${task_id}`, { headers: { prefer: 'wait=99999' } });
    expect(response.headers.get('preference-applied')).toBe('wait=60');
  });
});

describe('task_events (Server-Sent Events)', () => {
  it('streams a task from its current state to done, through the other replica', async () => {
    // Long enough that a stream opened on a loaded machine still sees the task running.
    const { task_id } = (await (await submitForm(gatewayA.url, { sleep_ms: '1500' })).json()) as Submitted;
    const { status, events } = await readEvents(`${gatewayB.url}/task_events/${task_id}`);
    expect(status).toBe(200);
    expect(events[0]!.event).toBe('status');
    const last = events.at(-1)!;
    expect(last.event).toBe('done');
    expect(last.data).toMatchObject({ task_id, status: 'SUCCESS', progress: 1 });
    // Everything between is forward progress only.
    const statuses = events.filter((e) => e.event === 'status').map((e) => (e.data as { status: string }).status);
    expect(statuses.every((s) => s === 'PENDING' || s === 'STARTED')).toBe(true);
    expect(statuses).toContain('STARTED');
  });

  it('answers a finished task with done at once, and a reconnect with Last-Event-ID catches up the same way', async () => {
    const response = await submitWaiting(gatewayA.url, { item_a: 'done already' }, 10);
    const { task_id } = (await response.json()) as { task_id: string };
    const first = await readEvents(`${gatewayA.url}/task_events/${task_id}`, 5000);
    expect(first.events.map((e) => e.event)).toEqual(['done']);
    const again = await readEvents(`${gatewayB.url}/task_events/${task_id}`, 5000, { 'last-event-id': first.events[0]!.id! });
    expect(again.events.map((e) => e.event)).toEqual(['done']);
  });

  it('answers an unknown task with 404 and the error envelope', async () => {
    const response = await fetch(`${gatewayA.url}/task_events/6f1c1d2e-1111-4aaa-8bbb-123456789abc`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'task_not_found' } });
  });
});

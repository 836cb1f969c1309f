import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitForm, waitForTerminal, type Submitted } from '../support/client.js';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/**
 * A run that outlives its timeout is aborted and fails as timed out; the worker goes on. A task
 * that nobody starts within the queue's TTL fails as expired (a second stack, with no worker).
 */
const stack = testStack('deadlines', { TASK_TIMEOUT_MS: '500' });
const unserved = testStack('queue-ttl', { TASK_QUEUE_TTL_MS: '300' });
let gateway: Gateway;
let unservedGateway: Gateway;

beforeAll(async () => {
  [, gateway, unservedGateway] = await Promise.all([stack.worker(), stack.gateway(), unserved.gateway()]);
});

afterAll(() => Promise.all([stack.stop(), unserved.stop()]));

describe('run timeouts', () => {
  it('fails a run that outlives TASK_TIMEOUT_MS with code timed_out, and the next task runs', async () => {
    const began = Date.now();
    const { task_id } = (await (await submitForm(gateway.url, { sleep_ms: '10000' })).json()) as Submitted;
    const status = await waitForTerminal(gateway.url, task_id, 5_000);
    expect(status).toMatchObject({ status: 'FAILURE', error: { code: 'timed_out', message: 'timed out after 500 ms' } });
    expect(Date.now() - began).toBeLessThan(4_000);

    const next = (await (await submitForm(gateway.url, { item_a: 'quick' })).json()) as Submitted;
    expect((await waitForTerminal(gateway.url, next.task_id)).status).toBe('SUCCESS');
  });
});

describe('queue TTL', () => {
  it('fails a task nobody started within TASK_QUEUE_TTL_MS as expired, instead of leaving it PENDING', async () => {
    const response = await submitForm(unservedGateway.url, { item_a: 'nobody serves me' });
    expect(response.status).toBe(202);
    const { task_id } = (await response.json()) as Submitted;
    const status = await waitForTerminal(unservedGateway.url, task_id, 15_000);
    expect(status).toMatchObject({ status: 'FAILURE', error: { code: 'dead_lettered_expired' } });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitForm, waitForTerminal, type Submitted } from '../support/client.js';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/** A run that outlives its timeout is aborted and fails as timed out; the worker goes on. */
const stack = testStack('deadlines', { TASK_TIMEOUT_MS: '500' });
let gateway: Gateway;

beforeAll(async () => {
  [, gateway] = await Promise.all([stack.worker(), stack.gateway()]);
});

afterAll(() => stack.stop());

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

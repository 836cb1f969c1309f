import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitForm, submitJson, waitForTerminal, type Submitted } from '../support/client.js';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/** Transient failures come back through the broker's backoff tiers; bad input fails at once. */
const stack = testStack(
  'retries',
  {
    PROCESSORS_DIR: path.resolve('test/fixtures/processors'),
    WORKER_PROCESSORS: 'echo,flaky',
    RETRY_DELAYS_MS: '300,600',
    TASK_MAX_ATTEMPTS: '3',
  },
  { extraProcessors: ['crash', 'flaky', 'big-result'] },
);
let gateway: Gateway;

beforeAll(async () => {
  [, gateway] = await Promise.all([stack.worker(), stack.gateway()]);
});

afterAll(() => stack.stop());

describe('retries', () => {
  it('retries a transient failure with backoff and succeeds on the third attempt, passing through RETRY', async () => {
    const began = Date.now();
    const { task_id } = (await (await submitJson(gateway.url, { processor: 'flaky' })).json()) as Submitted;
    const seen = new Set<string>();
    for (let polls = 0; polls < 500; polls += 1) {
      const status = (await (await fetch(`${gateway.url}/task_status/${task_id}`)).json()) as { status: string };
      seen.add(status.status);
      if (status.status === 'SUCCESS' || status.status === 'FAILURE') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const final = await waitForTerminal(gateway.url, task_id);
    expect(final).toMatchObject({ status: 'SUCCESS', attempts: 3, error: null });
    expect(seen).toContain('RETRY');
    // The waits were the broker's: 300 ms, then 600 ms.
    expect(Date.now() - began).toBeGreaterThanOrEqual(900);
    expect(await (await fetch(`${gateway.url}/task_result/${task_id}`)).json()).toEqual({ attempt: 3 });
  });

  it('fails bad input at once, without retrying', async () => {
    const { task_id } = (await (await submitForm(gateway.url, { fail: 'bad input' })).json()) as Submitted;
    expect(await waitForTerminal(gateway.url, task_id)).toMatchObject({ status: 'FAILURE', attempts: 1, error: { message: 'bad input' } });
  });
});

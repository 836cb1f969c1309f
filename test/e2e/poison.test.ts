import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeMessage } from '../support/broker.js';
import { submitForm, submitJson, waitForTerminal, type Submitted } from '../support/client.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/**
 * A task that kills its worker every time: the quorum queue's delivery limit stops it, the broker
 * dead-letters it, and the recorder records FAILURE — it never stays STARTED — while the queue
 * keeps flowing for everyone else.
 */
const stack = testStack(
  'poison',
  { DELIVERY_LIMIT: '2', PROCESSORS_DIR: path.resolve('test/fixtures/processors'), WORKER_PROCESSORS: 'echo,crash' },
  { extraProcessors: ['crash', 'flaky', 'big-result'] },
);
let gateway: Gateway;

beforeAll(async () => {
  gateway = await stack.gateway();
});

afterAll(() => stack.stop());

describe('poison messages', () => {
  it('records FAILURE once the broker gives up on a task that keeps killing its workers, and other tasks still run', async () => {
    const response = await submitJson(gateway.url, { processor: 'crash' });
    expect(response.status).toBe(202);
    const { task_id } = (await response.json()) as Submitted;

    // Keep a worker running, as a supervisor would, until the task is settled (bounded).
    let crashes = 0;
    let worker: WarrenProcess | undefined;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const status = (await (await fetch(`${gateway.url}/task_status/${task_id}`)).json()) as { status: string };
      if (status.status === 'FAILURE') break;
      if (Date.now() > deadline) throw new Error(`task still ${status.status} after ${crashes} crashes`);
      if (!worker || worker.child.exitCode !== null) {
        if (worker) crashes += 1;
        // Not waited for: it may take the poison task and die before it reports ready.
        worker = stack.spawnWorker();
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const final = await waitForTerminal(gateway.url, task_id);
    expect(final.status).toBe('FAILURE');
    expect(final.error?.code).toBe('dead_lettered_delivery_limit');
    expect(crashes).toBeGreaterThanOrEqual(2);

    // The message is kept in the dead-letter queue for operators, with the broker's reason.
    const dead = await takeMessage(`${stack.prefix}.dead-letters`);
    expect((dead.properties.headers?.['x-death'] as { reason: string }[])[0]!.reason).toBe('delivery_limit');

    // The queue flows on.
    if (!worker || worker.child.exitCode !== null) worker = await stack.worker();
    const echo = (await (await submitForm(gateway.url, { item_a: 'after the poison' })).json()) as Submitted;
    expect((await waitForTerminal(gateway.url, echo.task_id)).status).toBe('SUCCESS');
  }, 90_000);
});

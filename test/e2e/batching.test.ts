import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitJson, waitForTerminal, type Submitted } from '../support/client.js';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/**
 * Batched inference in the Node runner: tasks of a processor that declares `batch` reach its
 * model in calls of several, and each task still has its own outcome, retries and attempts.
 */
const stack = testStack(
  'batching',
  { WORKER_PROCESSORS: 'batched', PROCESSORS_DIR: path.resolve('test/fixtures/batching'), WORKER_CONCURRENCY: '8' },
  { extraProcessors: ['batched'] },
);
let gateway: Gateway;

beforeAll(async () => {
  [gateway] = await Promise.all([stack.gateway(), stack.worker()]);
});
afterAll(() => stack.stop());

async function submit(fields: Record<string, unknown>): Promise<string> {
  const response = await submitJson(gateway.url, { processor: 'batched', ...fields });
  expect(response.status).toBe(202);
  return ((await response.json()) as Submitted).task_id;
}

describe('a batching processor', () => {
  it('answers tasks that arrive together in shared calls, each task with its own result', async () => {
    const ids = await Promise.all(Array.from({ length: 8 }, (_, n) => submit({ n })));
    const results: { n: number; call: string; size: number }[] = [];
    for (const id of ids) {
      expect(await waitForTerminal(gateway.url, id)).toMatchObject({ status: 'SUCCESS', attempts: 1 });
      results.push((await (await fetch(`${gateway.url}/task_result/${id}`)).json()) as { n: number; call: string; size: number });
    }
    expect(results.map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const calls = new Map<string, number>();
    for (const r of results) calls.set(r.call, r.size);
    // Eight tasks in calls of at most four, fewer calls than tasks, and every call's size as counted.
    expect(Math.max(...calls.values())).toBeLessThanOrEqual(4);
    expect(calls.size).toBeLessThan(8);
    for (const [call, size] of calls) expect(results.filter((r) => r.call === call)).toHaveLength(size);
  });

  it('fails one task of a batch alone, and retries another alone, while the rest succeed', async () => {
    const [ok, bad, flaky] = await Promise.all([submit({ n: 1 }), submit({ n: 2, fail: 'no good' }), submit({ n: 3, flaky: true })]);
    expect(await waitForTerminal(gateway.url, ok)).toMatchObject({ status: 'SUCCESS', attempts: 1 });
    expect(await waitForTerminal(gateway.url, bad)).toMatchObject({ status: 'FAILURE', attempts: 1, error: { message: 'no good' } });
    expect(await waitForTerminal(gateway.url, flaky)).toMatchObject({ status: 'SUCCESS', attempts: 2 });
  });
});

import { describe, expect, it } from 'vitest';
import type { ProcessorContext, TaskInput } from '../../shared/index.js';
import { batcher } from '../../worker/batcher.js';

/** The batcher gathers single runs into runBatch calls and settles each run with its own slot. */
const input = (n: number): TaskInput => ({ fields: { n }, files: [] });
const ctx = (signal = new AbortController().signal): ProcessorContext => ({ signal }) as ProcessorContext;

function recorder(answer: (inputs: readonly TaskInput[]) => Promise<readonly unknown[]> = async (inputs) => inputs.map((i) => i.fields.n)) {
  const calls: number[][] = [];
  const run = batcher({
    name: 'test',
    batch: { maxSize: 3, maxWaitMs: 50 },
    runBatch: async (inputs) => {
      calls.push(inputs.map((i) => Number(i.fields.n)));
      return answer(inputs);
    },
  });
  return { run, calls };
}

describe('the batcher', () => {
  it('calls runBatch with up to maxSize inputs at once, at once when full, and each run gets its own result', async () => {
    const { run, calls } = recorder();
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => run(input(n), ctx())));
    expect(results).toEqual([1, 2, 3, 4, 5]);
    expect(calls).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('sends a batch that is not full after maxWaitMs', async () => {
    const { run, calls } = recorder();
    const began = Date.now();
    expect(await run(input(7), ctx())).toBe(7);
    expect(Date.now() - began).toBeGreaterThanOrEqual(45);
    expect(calls).toEqual([[7]]);
  });

  it('fails a run whose slot is an Error alone, and every run of a batch that throws', async () => {
    const failing = recorder(async (inputs) => inputs.map((i) => (i.fields.n === 2 ? new Error('two is bad') : i.fields.n)));
    const settled = await Promise.allSettled([1, 2, 3].map((n) => failing.run(input(n), ctx())));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const throwing = recorder(async () => {
      throw new Error('the model fell over');
    });
    const all = await Promise.allSettled([1, 2].map((n) => throwing.run(input(n), ctx())));
    expect(all.map((s) => (s.status === 'rejected' ? (s.reason as Error).message : 'ok'))).toEqual(['the model fell over', 'the model fell over']);
  });

  it('refuses an answer of the wrong length for every run of the batch', async () => {
    const short = recorder(async () => [1]);
    const settled = await Promise.allSettled([1, 2].map((n) => short.run(input(n), ctx())));
    expect(settled.every((s) => s.status === 'rejected' && /returned 1 results for 2 inputs/.test(String(s.reason)))).toBe(true);
  });

  it('leaves out a run cancelled while it waited for its batch', async () => {
    const { run, calls } = recorder();
    const cancelled = new AbortController();
    void run(input(1), ctx(cancelled.signal));
    const kept = run(input(2), ctx());
    cancelled.abort();
    expect(await kept).toBe(2);
    expect(calls).toEqual([[2]]);
  });
});

import { describe, expect, it } from 'vitest';
import { watchedDecode, type MemoryExceeded } from '../../worker/processors/document/memory-watch.js';

/** The PDF image decodes of one worker: one at a time, in order, stopped past the RSS budget. */
const roomy = { budgetBytes: Number.MAX_SAFE_INTEGER };
const never = (): Promise<void> => Promise.reject(new Error('stopped without cause'));

/** A decode that runs until `finish` is called, noting when it started. */
function heldDecode(log: string[], name: string): { run: () => Promise<string>; finish: () => void } {
  let finish = (): void => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    run: async () => {
      log.push(`${name} started`);
      await done;
      log.push(`${name} finished`);
      return name;
    },
    finish: () => finish(),
  };
}

describe('watched decodes', () => {
  it('run one at a time, in the order they asked, and a cancelled waiter leaves the line', async () => {
    const log: string[] = [];
    const [first, second, third] = [heldDecode(log, 'first'), heldDecode(log, 'second'), heldDecode(log, 'third')];
    const cancelled = new AbortController();
    const running = [
      watchedDecode({ ...roomy, signal: new AbortController().signal }, first.run, never),
      watchedDecode({ ...roomy, signal: cancelled.signal }, second.run, never),
      watchedDecode({ ...roomy, signal: new AbortController().signal }, third.run, never),
    ];
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(log).toEqual(['first started']);
    cancelled.abort(new Error('task cancelled'));
    await expect(running[1]).rejects.toThrow('task cancelled');
    first.finish();
    await expect(running[0]).resolves.toBe('first');
    await new Promise((resolve) => setTimeout(resolve, 20));
    third.finish();
    await expect(running[2]).resolves.toBe('third');
    expect(log).toEqual(['first started', 'first finished', 'third started', 'third finished']);
  });

  it('stop the decode that runs past the budget, and start the next only once its memory is released', async () => {
    const log: string[] = [];
    let fail = (_error: Error): void => {};
    const exceeded: MemoryExceeded[] = [];
    const runaway = watchedDecode(
      // Below what this process already holds: the first sample is over budget.
      { budgetBytes: 1, signal: new AbortController().signal },
      () => new Promise<never>((_, reject) => (fail = reject)),
      async (over) => {
        exceeded.push(over);
        fail(new Error('stopped'));
        await new Promise((resolve) => setTimeout(resolve, 100));
        log.push('memory released');
      },
    );
    const next = watchedDecode({ ...roomy, signal: new AbortController().signal }, async () => log.push('next started'), never);
    await expect(runaway).rejects.toThrow('stopped');
    await next;
    expect(log).toEqual(['memory released', 'next started']);
    expect(exceeded).toHaveLength(1);
    expect(exceeded[0]!.rssBytes).toBeGreaterThan(1);
    expect(exceeded[0]!.budgetBytes).toBe(1);
  });
});

import type { Processor, ProcessorContext, TaskInput } from '../shared/index.js';

/**
 * Batched inference: the runner hands each task's run to a batcher instead of calling `run`. The
 * batcher gathers runs until `maxSize` are waiting or `maxWaitMs` has passed since the first, then
 * calls the processor's runBatch once and settles each run with its own slot of the answer. A run
 * whose task was cancelled or timed out meanwhile is left out of the next call (its ctx.signal is
 * aborted; the runner has settled it already). Several batches may be in flight at once, as many
 * as the queue's prefetch lets arrive.
 */
export type BatchedRun = (input: TaskInput, ctx: ProcessorContext) => Promise<unknown>;

interface Waiting {
  input: TaskInput;
  ctx: ProcessorContext;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

export function batcher(processor: Required<Pick<Processor, 'runBatch' | 'batch'>> & Pick<Processor, 'name'>): BatchedRun {
  const { maxSize, maxWaitMs } = processor.batch;
  let waiting: Waiting[] = [];
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    const batch = waiting.filter((run) => !run.ctx.signal.aborted);
    waiting = [];
    if (batch.length === 0) return;
    processor
      .runBatch(
        batch.map((run) => run.input),
        batch.map((run) => run.ctx),
      )
      .then(
        (results) => {
          if (!Array.isArray(results) || results.length !== batch.length) {
            const wrong = new Error(
              `${processor.name}: runBatch returned ${Array.isArray(results) ? results.length : 'no'} results for ${batch.length} inputs`,
            );
            for (const run of batch) run.reject(wrong);
            return;
          }
          results.forEach((result: unknown, index) => (result instanceof Error ? batch[index]!.reject(result) : batch[index]!.resolve(result)));
        },
        (err: unknown) => {
          for (const run of batch) run.reject(err);
        },
      );
  };

  return (input, ctx) =>
    new Promise((resolve, reject) => {
      waiting.push({ input, ctx, resolve, reject });
      if (waiting.length >= maxSize) flush();
      else timer ??= setTimeout(flush, maxWaitMs);
    });
}

import os from 'node:os';
import type { ConsumeMessage } from 'amqplib';
import {
  ACK,
  coerceError,
  ShutdownAbort,
  publishTask,
  publishTaskEvent,
  taskEvent,
  taskMessages,
  type Broker,
  type ConsumeOutcome,
  type Consumer,
  type Logger,
  type Processor,
  type TaskMessage,
} from '../shared/index.js';
import { createArtifactWriter } from './artifacts.js';
import { checkResult, isPermanent, RevokedAbort, RunTimeout, whenAborted } from './run-outcome.js';
import { batcher, type BatchedRun } from './batcher.js';
import type { InputFetcher, TaskInputs } from './inputs.js';
import type { WorkerMetrics, WorkerOutcome } from './metrics.js';
import { throttledProgress } from './progress.js';
import { startedReport } from './started-report.js';
import type { RevocationWatch } from './revocations.js';

/**
 * Serves processors from their queues. For each task: the processor runs, STARTED is published
 * once the run has lasted `startedReportDelayMs`, the final event is published (confirmed), and
 * only then is the message acked — so a worker that dies at any point leaves the task to be
 * redelivered, never lost.
 */
export interface RunnerDeps {
  broker: Broker;
  processors: readonly Processor[];
  /** Tasks in flight per processor queue (the channel's prefetch): WORKER_CONCURRENCY, and the cap of every processor's own. */
  concurrency: number;
  /** PROCESSOR_CONCURRENCY: a processor's prefetch instead of its `concurrency` (still capped by `concurrency`). */
  processorConcurrency?: ReadonlyMap<string, number>;
  logger: Logger;
  /** The shared volume: artifacts are written to it. */
  dataDir: string;
  /** Puts each task's input files on local disk (the volume's as they are, S3's downloaded). */
  inputs: InputFetcher;
  /** Longest run of a processor that sets no `timeoutMs` of its own (TASK_TIMEOUT_MS). */
  defaultTimeoutMs: number;
  /** Runs before a transient failure is final, for processors that set no `maxAttempts` (TASK_MAX_ATTEMPTS). */
  defaultMaxAttempts: number;
  progressIntervalMs?: number;
  /**
   * STARTED_REPORT_DELAY_MS: STARTED is published only for a run still going after this long (0:
   * at once; see worker/started-report.ts).
   */
  startedReportDelayMs?: number;
  /** Outcomes, tasks in flight and run times, for the worker's /metrics. */
  metrics?: Pick<WorkerMetrics, 'tasks' | 'inFlight' | 'runSeconds' | 'track'>;
  /** Cancelled tasks: skipped before they run, aborted while they run. */
  revocations: RevocationWatch;
  /** Largest JSON result a SUCCESS event may carry (MAX_RESULT_BYTES); a larger one fails the task as result_too_large. */
  maxResultBytes: number;
}

export interface Runner {
  /** Stop taking tasks; in-flight ones get `graceMs` to finish, then are aborted and requeued. */
  stop(graceMs: number): Promise<void>;
}

export async function startRunner({
  broker,
  processors,
  concurrency,
  processorConcurrency,
  logger,
  dataDir,
  inputs: fetcher,
  defaultTimeoutMs,
  defaultMaxAttempts,
  progressIntervalMs = 250,
  startedReportDelayMs = 0,
  metrics,
  revocations,
  maxResultBytes,
}: RunnerDeps): Promise<Runner> {
  const workerId = `${os.hostname()}:${process.pid}`;
  /** Runs in progress → their task ids, so a cancel can abort its task's run. */
  const running = new Map<AbortController, string>();
  revocations.onRevoke((taskId) => {
    for (const [controller, id] of running) if (id === taskId) controller.abort(new RevokedAbort());
  });
  const count = (processor: Processor, outcome: WorkerOutcome): void => metrics?.tasks.labels(processor.name, outcome).inc();
  const secondsSince = (began: bigint): number => Number(process.hrtime.bigint() - began) / 1e9;

  const handle = async (processor: Processor, message: ConsumeMessage, channelClosed: AbortSignal): Promise<ConsumeOutcome> => {
    let task: TaskMessage;
    try {
      task = taskMessages.decode(message.content);
    } catch (err) {
      return { kind: 'dead-letter', reason: coerceError(err).message };
    }
    if (task.processor !== processor.name) {
      logger.warn({ taskId: task.task_id, processor: processor.name, taskProcessor: task.processor }, 'task arrived on the wrong queue; dead-lettering it');
      return { kind: 'dead-letter', reason: `task for "${task.processor}" arrived on the queue of "${processor.name}"` };
    }

    // Quorum queues count redeliveries (a worker died or the channel closed mid-task).
    const redeliveries = Number(message.properties.headers?.['x-delivery-count'] ?? 0) || 0;
    const attempt = task.attempt + redeliveries;
    const log = logger.child({ taskId: task.task_id, processor: processor.name, attempt });
    // The check and the registration below happen in one turn, so a cancel that arrives in
    // between cannot be missed.
    await revocations.caughtUp();
    if (revocations.isRevoked(task.task_id)) {
      log.info('task was cancelled before it ran; skipping it');
      count(processor, 'revoked');
      return ACK;
    }
    const send = (fields: Omit<Parameters<typeof taskEvent>[1], 'attempt' | 'worker'>): Promise<void> =>
      publishTaskEvent(broker, taskEvent(task, { ...fields, attempt, worker: workerId }));

    const started = startedReport(send, startedReportDelayMs, (err: unknown) => log.warn({ err: coerceError(err).message }, 'progress report not published'));
    const controller = new AbortController();
    running.set(controller, task.task_id);
    const progress = throttledProgress((fraction, text) => {
      started.progress({ status: 'STARTED', progress: Math.min(1, Math.max(0, fraction)), ...(text === undefined ? {} : { message: text.slice(0, 1000) }) });
    }, progressIntervalMs);

    const artifacts = createArtifactWriter(dataDir, task.task_id);
    const runBegan = process.hrtime.bigint();
    let outcome: { ok: true; result: unknown } | { ok: false; error: ReturnType<typeof coerceError>; permanent: boolean };
    const timeoutMs = processor.timeoutMs ?? defaultTimeoutMs;
    const deadline = setTimeout(() => controller.abort(new RunTimeout(timeoutMs)), timeoutMs);
    let inputs: TaskInputs | undefined;
    try {
      // Inside the run's clock and signal: a download that hangs times out like a processor would.
      inputs = await fetcher.fetch(task.task_id, task.input.files, controller.signal);
      const local = inputs;
      const runOne = batchedRuns.get(processor.name) ?? ((input, ctx) => processor.run(input, ctx));
      const run = runOne(task.input, {
        taskId: task.task_id,
        attempt,
        log,
        progress: progress.report,
        signal: controller.signal,
        filePath: (file) => local.pathOf(file),
        artifacts,
        maxResultBytes,
      });
      run.catch(() => {}); // an abandoned run may still reject later
      const result = await Promise.race([run, whenAborted(controller.signal)]);
      // Checked here, in the run's try: a result that cannot be sent fails this task for good,
      // rather than failing the publish, which would requeue the task to fail the same way again.
      checkResult(result, maxResultBytes);
      outcome = { ok: true, result };
    } catch (thrown) {
      if (controller.signal.reason instanceof ShutdownAbort) {
        log.info('task interrupted by shutdown; requeueing it');
        return { kind: 'requeue', reason: 'worker shut down mid-task' };
      }
      if (controller.signal.reason instanceof RevokedAbort) {
        // Never retried, nothing published: REVOKED is terminal in the store already.
        log.info('task cancelled while running; aborted it');
        await started.sent?.catch(() => {});
        count(processor, 'revoked');
        return ACK;
      }
      outcome = { ok: false, error: coerceError(thrown), permanent: isPermanent(thrown) };
    } finally {
      clearTimeout(deadline);
      started.cancel();
      progress.cancel();
      running.delete(controller);
      await inputs?.release().catch((err: unknown) => log.warn({ err: coerceError(err).message }, 'downloaded inputs not removed'));
    }
    const seconds = secondsSince(runBegan);

    // Publishing is outside the run's try: a publish that fails must requeue the task (the
    // handler throws), never turn a successful run into a FAILURE.
    if (outcome.ok) {
      await send({ status: 'SUCCESS', result: outcome.result ?? null, artifacts: artifacts.written() });
      // Counted once the outcome is published.
      count(processor, 'success');
      log.debug({ ms: Math.round(seconds * 1000) }, 'task succeeded');
    } else {
      const { error } = outcome;
      const taskError = { code: error.code, message: error.message.slice(0, 4000) };
      const maxAttempts = processor.maxAttempts ?? defaultMaxAttempts;
      const tiers = broker.topology.retryTiers;
      if (!outcome.permanent && attempt < maxAttempts && tiers.length > 0) {
        // Transient: RETRY now, and the next attempt waits in a backoff tier (the broker's TTL)
        // before it returns to the processor's queue. Both confirmed before this one is acked.
        const tier = tiers[Math.min(attempt - 1, tiers.length - 1)]!;
        // The channel that delivered the task is gone: the broker hands the task out again, so a
        // retry published now would put a second copy of it in the queue.
        if (channelClosed.aborted) return { kind: 'requeue', reason: 'connection lost mid-task; the broker redelivers it' };
        log.info({ code: error.code, err: error.message, retryInMs: tier.delayMs }, 'task failed; retrying');
        await send({ status: 'RETRY', error: taskError });
        await publishTask(broker, { ...task, attempt: attempt + 1 }, tier.exchange);
        count(processor, 'retried');
      } else {
        log.info({ code: error.code, err: error.message, ms: Math.round(seconds * 1000) }, 'task failed');
        await send({ status: 'FAILURE', error: taskError });
        count(processor, 'failure');
      }
    }
    // The final event is confirmed, so a STARTED the broker refused changes nothing recorded.
    await started.sent?.catch((err: unknown) => log.debug({ err: coerceError(err).message }, 'STARTED not confirmed; the final event was'));
    metrics?.runSeconds.labels(processor.name).observe(seconds);
    return ACK;
  };

  // success and failure are counted inside handle, once published; the rest by the outcome, and a
  // handler that throws (e.g. an event the broker never confirmed) is requeued by the broker.
  const serve = async (processor: Processor, message: ConsumeMessage, channelClosed: AbortSignal): Promise<ConsumeOutcome> => {
    metrics?.inFlight.labels(processor.name).inc();
    try {
      const outcome = await handle(processor, message, channelClosed);
      if (outcome.kind === 'dead-letter') count(processor, 'dead_lettered');
      else if (outcome.kind === 'requeue') count(processor, 'requeued');
      return outcome;
    } catch (err) {
      count(processor, 'requeued');
      throw err;
    } finally {
      metrics?.inFlight.labels(processor.name).dec();
    }
  };

  // Models load once per worker, before the first task is taken.
  for (const processor of processors) {
    if (!processor.setup) continue;
    const began = Date.now();
    await processor.setup(logger.child({ processor: processor.name }));
    logger.info({ processor: processor.name, ms: Date.now() - began }, 'processor ready');
  }

  metrics?.track(processors.map((p) => p.name));
  const batchedRuns = new Map<string, BatchedRun>(
    processors.flatMap((p) => (p.runBatch && p.batch ? [[p.name, batcher({ name: p.name, runBatch: p.runBatch.bind(p), batch: p.batch })] as const] : [])),
  );
  // Heavy processors take fewer tasks at once than light ones (document and thumbnail: the cores),
  // so their waiting tasks stay in the queue for other workers rather than in this one's memory.
  // A batching processor takes at least a batch's worth, or no batch could ever fill.
  const prefetch = new Map(
    processors.map((p) => [p.name, Math.max(p.batch?.maxSize ?? 1, Math.min(concurrency, processorConcurrency?.get(p.name) ?? p.concurrency ?? concurrency))]),
  );
  const consumers: Consumer[] = processors.map((processor) => {
    const queue = broker.topology.taskQueues.get(processor.name);
    if (!queue) throw new Error(`no queue declared for processor ${processor.name}`);
    return broker.consume(queue, prefetch.get(processor.name)!, (message, { channelClosed }) => serve(processor, message, channelClosed));
  });
  logger.info({ processors: processors.map((p) => p.name), concurrency, prefetch: Object.fromEntries(prefetch), workerId }, 'worker consuming');

  return {
    async stop(graceMs) {
      const timer = setTimeout(() => {
        for (const controller of running.keys()) controller.abort(new ShutdownAbort());
      }, graceMs);
      try {
        await Promise.all(consumers.map((consumer) => consumer.stop()));
      } finally {
        clearTimeout(timer);
      }
      for (const processor of processors) await processor.teardown?.();
    },
  };
}

import { coerceError, taskEvent, type Broker, type Logger, type ProcessorDescriptor, type TaskStatus } from '../../shared/index.js';
import type { TaskRecord, TaskStore } from '../store/index.js';
import type { GatewayMetrics } from '../metrics.js';
import { every } from './periodic.js';
import { taskFinished } from './task-finished.js';
import type { Links } from '../links.js';

/**
 * The last line of "every accepted task finishes": a task that has been PENDING, STARTED or RETRY
 * for longer than anything in warren allows is recorded FAILURE (`stalled`), so it never waits for
 * ever. The deadlines follow from the configuration, counted from the task's last recorded change:
 * - PENDING: it waits in its queue at most TASK_QUEUE_TTL_MS (then the broker expires it and the
 *   dead-letter watch records that);
 * - RETRY: the longest backoff tier (RETRY_DELAYS_MS), then the queue again;
 * - STARTED: its run's timeout (the processor's, or TASK_TIMEOUT_MS), then — if its worker died —
 *   the queue again (returned messages keep their TTL clock);
 * each plus STALL_GRACE_MS for brokers and consumers to notice dead peers. Past that its messages
 * are gone: a queue purged or deleted by hand, a dead letter dropped after a very long outage. With
 * TASK_QUEUE_TTL_MS=0 (tasks may wait for ever) there is no deadline and nothing is checked.
 * Every gateway runs one; applying FAILURE twice changes nothing.
 */
export interface StallCheckOptions {
  broker: Broker;
  store: TaskStore;
  logger: Logger;
  links: Links;
  processors: readonly Pick<ProcessorDescriptor, 'name' | 'timeoutMs'>[];
  /** TASK_TIMEOUT_MS: the run timeout of processors that set none. */
  defaultTimeoutMs: number;
  /** TASK_QUEUE_TTL_MS; 0 turns the check off. */
  queueTtlMs: number;
  retryDelaysMs: readonly number[];
  /** STALL_GRACE_MS. */
  graceMs: number;
  metrics?: Pick<GatewayMetrics, 'taskFinished' | 'tasksStalled'> | undefined;
  onFinished?: ((taskId: string) => void) | undefined;
}

const BATCH = 200;
const UNFINISHED = ['PENDING', 'RETRY', 'STARTED'] as const;

/** How long task of `processor` may stay in `status` without a recorded change; undefined: for ever. */
export function stallDeadlineMs(
  options: Pick<StallCheckOptions, 'processors' | 'defaultTimeoutMs' | 'queueTtlMs' | 'retryDelaysMs' | 'graceMs'>,
  processor: string,
  status: TaskStatus,
): number | undefined {
  const { queueTtlMs, graceMs } = options;
  if (queueTtlMs <= 0) return undefined;
  const run = options.processors.find((p) => p.name === processor)?.timeoutMs ?? options.defaultTimeoutMs;
  switch (status) {
    case 'PENDING':
      return queueTtlMs + graceMs;
    case 'RETRY':
      return Math.max(0, ...options.retryDelaysMs) + queueTtlMs + graceMs;
    case 'STARTED':
      return run + queueTtlMs + graceMs;
    default:
      return undefined;
  }
}

export function startStallCheck(options: StallCheckOptions): { stop(): Promise<void> } {
  const { store, logger, metrics } = options;
  const finished = { ...options, metrics, onFinished: options.onFinished };
  const deadlineOf = (task: Pick<TaskRecord, 'processor' | 'status'>): number | undefined => stallDeadlineMs(options, task.processor, task.status);
  // Per status, the shortest deadline a task can have (processors differ in run timeouts): older rows are the candidates.
  const names = [...options.processors.map((p) => p.name), ''];
  const shortest = new Map(UNFINISHED.map((status) => [status, Math.min(...names.map((processor) => deadlineOf({ processor, status }) ?? Infinity))]));

  const resolve = async (task: TaskRecord, deadlineMs: number): Promise<void> => {
    // Read again just before: a task that moved since the candidates were listed is not stalled.
    const now = await store.get(task.id);
    if (!now || now.updatedAt !== task.updatedAt) return;
    const quiet = Math.round((Date.now() - task.updatedAt) / 1000);
    const error = {
      code: 'stalled',
      message: `no news of the task for ${quiet} s while ${task.status}, longer than its deadline of ${Math.round(deadlineMs / 1000)} s: its messages were lost (a queue purged or deleted, a dead letter dropped), so it is failed rather than left waiting for ever`,
    };
    const [outcome] = await store.applyEvents([
      taskEvent({ task_id: task.id, processor: task.processor }, { status: 'FAILURE', attempt: Math.max(1, task.attempt), error }),
    ]);
    if (!outcome?.record) return;
    logger.warn({ taskId: task.id, processor: task.processor, was: task.status, quietSeconds: quiet }, 'stalled task recorded as FAILURE');
    metrics?.tasksStalled.labels(task.processor).inc();
    taskFinished(finished, outcome.record);
  };

  const check = async (): Promise<void> => {
    for (const [status, soonest] of shortest) {
      const now = Date.now();
      for (const task of await store.unfinished(status, now - soonest, BATCH)) {
        const deadline = deadlineOf(task);
        if (deadline !== undefined && now - task.updatedAt > deadline) await resolve(task, deadline);
      }
    }
  };

  if (options.queueTtlMs <= 0) return { stop: async () => {} };
  const intervalMs = Math.min(60_000, Math.max(1_000, Math.round(options.graceMs / 4)));
  return every(intervalMs, check, (err) => logger.warn({ err: coerceError(err).message }, 'stall check failed; trying again later'));
}

import { coerceError, isTerminal, type Broker, type Logger } from '../../shared/index.js';
import type { FinishedTask, TaskStore } from '../store/index.js';
import { enqueueFinalDeliveries, withResult } from './delivery-jobs.js';
import type { GatewayMetrics } from '../metrics.js';
import type { Links } from '../links.js';

/**
 * What follows a task's terminal state once it is committed, whoever committed it — the recorder,
 * the dead-letter watch, the stall check: count and time it, wake this replica's waiters, and
 * enqueue its deliveries (the delivery sweeper sends them if that fails).
 */
export interface FinishedDeps {
  broker: Broker;
  store: TaskStore;
  logger: Logger;
  links: Links;
  metrics?: Pick<GatewayMetrics, 'taskFinished'> | undefined;
  onFinished?: ((taskId: string) => void) | undefined;
}

export function taskFinished({ broker, store, logger, links, metrics, onFinished }: FinishedDeps, record: FinishedTask): void {
  metrics?.taskFinished(record);
  onFinished?.(record.id);
  logger.debug({ taskId: record.id, processor: record.processor, status: record.status }, 'task finished');
  enqueueFinalDeliveries({ broker, store, links, logger }, record).catch((err: unknown) =>
    logger.warn({ taskId: record.id, err: coerceError(err).message }, 'deliveries not enqueued yet; the sweeper will send them'),
  );
}

/**
 * A started/progress notice of `taskId` was reported: if the task has finished, its final
 * notification (held back so as not to overtake the notice) goes now. Nothing to do otherwise.
 */
export function releaseHeldFinal({ broker, store, logger, links }: Pick<FinishedDeps, 'broker' | 'store' | 'logger' | 'links'>, taskId: string): void {
  const release = async (): Promise<void> => {
    const record = await store.get(taskId);
    if (!record || !isTerminal(record.status)) return;
    await enqueueFinalDeliveries({ broker, store, links, logger }, await withResult(store, record));
  };
  release().catch((err: unknown) =>
    logger.warn({ taskId, err: coerceError(err).message }, 'held final notification not enqueued yet; the sweeper will send it'),
  );
}

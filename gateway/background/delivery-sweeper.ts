import { coerceError, type Broker, type Logger } from '../../shared/index.js';
import type { TaskStore } from '../store/index.js';
import { enqueueFinalDeliveries, withResult } from './delivery-jobs.js';
import { every } from './periodic.js';
import type { Links } from '../links.js';

/**
 * The outbox sweep for deliveries: a finished task whose jobs were never confirmed by the broker
 * (the recorder's publish failed, or its gateway died between commit and publish) is found here and
 * sent. Every gateway runs one; two sending the same job is a duplicate with the same webhook-id.
 */
export interface SweeperOptions {
  broker: Broker;
  store: TaskStore;
  logger: Logger;
  links: Links;
  /** How often to look (default: every 10 s, or every grace period if that is shorter). */
  intervalMs?: number;
  /** A target younger than this is the recorder's business still (default 30 s). */
  graceMs?: number;
}

export function startDeliverySweeper({ broker, store, logger, links, graceMs = 30_000, intervalMs = Math.min(10_000, graceMs) }: SweeperOptions): {
  stop(): Promise<void>;
} {
  const sweep = async (): Promise<void> => {
    if (!broker.isConnected()) return;
    for (const taskId of await store.deliveries.stranded(Date.now() - graceMs, 100)) {
      const record = await store.get(taskId);
      if (!record) continue;
      const sent = await enqueueFinalDeliveries({ broker, store, links, logger }, await withResult(store, record));
      if (sent > 0) logger.info({ taskId, sent }, 'stranded deliveries enqueued');
    }
  };
  return every(intervalMs, sweep, (err) => logger.warn({ err: coerceError(err).message }, 'delivery sweep failed; trying again later'));
}

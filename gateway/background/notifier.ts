import { coerceError, publishDeliveryJob, type Broker, type Logger, type TaskEvent } from '../../shared/index.js';
import type { TaskStore } from '../store/index.js';
import { deliveryJob, withResult } from './delivery-jobs.js';
import type { Links } from '../links.js';

/**
 * `started` and `progress` webhooks, for submissions that asked for them (webhook_events). They
 * are courtesies next to `completed`: one attempt each, progress at most once per interval per task
 * (per gateway replica), and they never change a target's delivery state.
 */
export interface Notifier {
  started(event: TaskEvent): void;
}

export function createNotifier({
  broker,
  store,
  logger,
  links,
  progressIntervalMs,
}: {
  broker: Broker;
  store: TaskStore;
  logger: Logger;
  links: Links;
  progressIntervalMs: number;
}): Notifier {
  const lastProgress = new Map<string, number>();

  const send = async (event: TaskEvent): Promise<void> => {
    const kind = event.progress === undefined ? 'started' : 'progress';
    const webhook = (await store.deliveries.forTask(event.task_id)).find((d) => d.target.kind === 'webhook');
    if (!webhook || webhook.target.kind !== 'webhook' || !webhook.target.events.includes(kind)) return;
    if (kind === 'progress') {
      const now = Date.now();
      if (now - (lastProgress.get(event.task_id) ?? 0) < progressIntervalMs) return;
      lastProgress.set(event.task_id, now);
      // Bounded memory: the oldest entries go first (Map keeps insertion order).
      if (lastProgress.size > 10_000) lastProgress.delete(lastProgress.keys().next().value!);
    }
    const record = await store.get(event.task_id);
    if (!record) return;
    // The event's own id names this notification: the same on every copy of it.
    await publishDeliveryJob(broker, { ...deliveryJob(await withResult(store, record), webhook, kind, links), delivery_id: event.event_id });
  };

  return {
    started(event) {
      send(event).catch((err: unknown) => logger.warn({ taskId: event.task_id, err: coerceError(err).message }, 'started/progress webhook not enqueued'));
    },
  };
}

import { DELIVERY_JOB_TYPE, publishDeliveryJob, type Broker, type DeliveryJob, type Logger, type WebhookEvent } from '../../shared/index.js';
import type { DeliveryRecord, FinishedTask, TaskRecord, TaskStore } from '../store/index.js';
import { toStatusDocument } from '../tasks/task-document.js';
import { deliveryLinks, type Links } from '../links.js';

/**
 * Delivery jobs, made by the gateway side (the recorder when a task finishes, the sweeper, a
 * redeliver on demand) and consumed by workers' deliverers. A job carries everything a deliverer
 * needs — the status document, the result, artifact references — so workers never read the store.
 */
export function deliveryJob(record: FinishedTask, delivery: DeliveryRecord, event: WebhookEvent, links: Links): DeliveryJob {
  // The document as task_status shows it, minus the delivery list (it describes this very job).
  const { deliveries: _omitted, ...document } = toStatusDocument(record, deliveryLinks(links, delivery.target), []);
  return {
    type: DELIVERY_JOB_TYPE,
    version: 1,
    delivery_id: delivery.deliveryId,
    task_id: record.id,
    processor: record.processor,
    target_id: delivery.targetId,
    target: delivery.target,
    event,
    round: delivery.round,
    attempt: 1,
    // Deliverers share their slots fairly between API keys by it.
    ...(record.owner === null ? {} : { owner: record.owner }),
    document,
    ...(record.status === 'SUCCESS' ? { result: record.result ?? null } : {}),
    artifacts: event === 'completed' && record.status === 'SUCCESS' ? record.artifacts : [],
  };
}

/**
 * A task read back from the store, with its result when it succeeded: what a delivery job of it
 * needs (the sweeper, a redeliver, a late `started` notification). The recorder has the result in
 * hand already and does not call this.
 */
export async function withResult(store: Pick<TaskStore, 'result'>, record: TaskRecord): Promise<FinishedTask> {
  if (record.status !== 'SUCCESS') return record;
  const text = await store.result(record.id);
  return text === undefined ? record : { ...record, result: JSON.parse(text) as unknown };
}

/**
 * A finished task's targets: begin them (PENDING → DELIVERING), publish a job for each target
 * whose round is not enqueued yet, then note them enqueued. Safe to repeat: a second call finds
 * nothing left to enqueue, and a job sent twice is a duplicate receivers can recognise.
 */
export async function enqueueFinalDeliveries(deps: { broker: Broker; store: TaskStore; links: Links; logger: Logger }, record: FinishedTask): Promise<number> {
  // Most tasks name no target: nothing to read or write for them.
  if (record.deliveryTargets === 0) return 0;
  const now = Date.now();
  const begun = await deps.store.deliveries.begin(record.id, record.status, now);
  // A started/progress notice still on its way goes first: the final one waits for its report
  // (the recorder calls again then) or for its window to pass (the sweeper calls again then).
  const waiting = begun.filter((delivery) => delivery.noticeUntil === null || delivery.noticeUntil <= now);
  if (waiting.length < begun.length) deps.logger.debug({ taskId: record.id }, 'final notification waits for a notice on its way');
  if (waiting.length === 0) return 0;
  await Promise.all(waiting.map((delivery) => publishDeliveryJob(deps.broker, deliveryJob(record, delivery, 'completed', deps.links))));
  await deps.store.deliveries.markEnqueued(waiting, Date.now());
  deps.logger.debug({ taskId: record.id, targets: waiting.map((d) => d.targetId) }, 'deliveries enqueued');
  return waiting.length;
}

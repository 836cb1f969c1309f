import type { Static } from '@sinclair/typebox';
import type { DeliveryRecord, TaskRecord, TaskStore } from '../store/index.js';
import type { StatusDocument as StatusDocumentSchema } from '../docs/api-schemas.js';
import type { Links } from '../links.js';

/**
 * What task_status answers, and what the HTML task page shows. Derived from the schema the OpenAPI
 * document publishes, so the code cannot send a shape the document does not describe.
 */
export type StatusDocument = Static<typeof StatusDocumentSchema>;

/** A task's deliveries, without a read for the many tasks that have none (TaskRecord.deliveryTargets). */
export async function deliveriesOf(store: Pick<TaskStore, 'deliveries'>, record: TaskRecord): Promise<DeliveryRecord[]> {
  return record.deliveryTargets === 0 ? [] : store.deliveries.forTask(record.id);
}

export function toStatusDocument(record: TaskRecord, links: Links, deliveries: readonly DeliveryRecord[]): StatusDocument {
  return {
    task_id: record.id,
    status: record.status,
    processor: record.processor,
    progress: record.progress,
    progress_message: record.progressMessage,
    attempts: record.attempt,
    created_at: iso(record.createdAt),
    started_at: record.startedAt === null ? null : iso(record.startedAt),
    finished_at: record.finishedAt === null ? null : iso(record.finishedAt),
    error: record.error,
    artifacts: record.artifacts.map((a) => ({ name: a.name, content_type: a.content_type, size: a.size, url: links.artifact(record.id, a.name) })),
    deliveries: deliveries.map((d) => ({
      target: d.targetId,
      state: d.state,
      destination: d.target.kind === 'webhook' ? d.target.url : d.target.kind === 'volume' ? null : d.target.destination,
      round: d.round,
      attempts: d.attempts,
      last_error: d.lastError,
      last_http_status: d.lastHttpStatus,
      location: d.location,
      next_attempt_at: d.nextAttemptAt === null ? null : iso(d.nextAttemptAt),
      delivered_at: d.deliveredAt === null ? null : iso(d.deliveredAt),
      attempts_url: links.delivery(record.id, d.targetId),
    })),
    expired: record.expiredAt !== null,
    expired_at: record.expiredAt === null ? null : iso(record.expiredAt),
    status_url: links.status(record.id),
    result_url: links.result(record.id),
  };
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

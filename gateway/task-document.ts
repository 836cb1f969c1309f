import type { Static } from '@sinclair/typebox';
import type { TaskRecord } from '../shared/index.js';
import type { StatusDocument as StatusDocumentSchema } from './api-schemas.js';

/**
 * What task_status answers, and what the HTML task page shows. Derived from the schema the OpenAPI
 * document publishes, so the code cannot send a shape the document does not describe.
 */
export type StatusDocument = Static<typeof StatusDocumentSchema>;

export interface TaskUrls {
  status: string;
  result: string;
  page: string;
}

export function taskUrls(basePath: string, id: string): TaskUrls {
  return {
    status: `${basePath}/task_status/${id}`,
    result: `${basePath}/task_result/${id}`,
    page: `${basePath}/tasks/${id}`,
  };
}

export function artifactUrl(basePath: string, id: string, name: string): string {
  return `${basePath}/task_result/${id}/artifacts/${encodeURIComponent(name)}`;
}

export function toStatusDocument(record: TaskRecord, basePath: string): StatusDocument {
  const urls = taskUrls(basePath, record.id);
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
    artifacts: record.artifacts.map((a) => ({ name: a.name, content_type: a.content_type, size: a.size, url: artifactUrl(basePath, record.id, a.name) })),
    status_url: urls.status,
    result_url: urls.result,
  };
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

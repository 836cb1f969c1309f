import type { TaskRecord, TaskStatus } from '../shared/index.js';

/** What task_status answers, and what the HTML task page shows. */
export interface StatusDocument {
  task_id: string;
  status: TaskStatus;
  processor: string;
  progress: number | null;
  progress_message: string | null;
  /** How many times a worker has started the task. */
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: { code: string; message: string } | null;
  status_url: string;
  result_url: string;
}

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
    status_url: urls.status,
    result_url: urls.result,
  };
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

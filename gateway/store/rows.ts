import type { ApplyOutcome, TaskRecord, TaskWithInput } from './types.js';
import { isTerminal, reduceTask, TASK_STATUSES, type FileRef, type TaskError, type TaskEvent, type TaskInput, type TaskStatus } from '../../shared/index.js';

/**
 * The tasks table as both stores lay it out, and the one way an event changes a row. SQL differs
 * between SQLite and PostgreSQL; what a row means, and what an event does to it, must not.
 * JSON columns are text in both, so a result of `null` stays distinct from "no result yet".
 *
 * A task's result lives in a table of its own (task_results), and its input is read only where
 * it is needed (the outbox, the janitor): a status poll, a 404 for another key's task and the
 * recorder's row locks read the same few small columns whatever the task's result or input weigh.
 */
export interface TaskRow {
  id: string;
  processor: string;
  status: TaskStatus;
  attempt: number;
  progress: number | null;
  progress_message: string | null;
  artifacts: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
  /** Set by the janitor when the result and files were removed (RESULT_TTL_SECONDS). */
  expired_at: number | null;
  /** When the broker confirmed the task's message (written lazily; NULL may mean not yet noted). */
  confirmed_at?: number | null;
  /** The API key that created the task (TaskRecord.owner). */
  owner?: string | null;
  /** How many delivery targets the task has (TaskRecord.deliveryTargets). */
  delivery_targets?: number;
  /** The event_id of the event that made the task terminal (null for a task never accepted, or finished before this was kept). */
  final_event_id?: string | null;
}

/** The columns of a TaskRow, for SELECTs: everything but the input (and the result, which is elsewhere). */
export const TASK_COLUMNS =
  'id, processor, status, attempt, progress, progress_message, artifacts, error_code, error_message, created_at, started_at, finished_at, updated_at, expired_at, confirmed_at, owner, delivery_targets, final_event_id';

export type TaskRowWithInput = TaskRow & { input: string };

/**
 * Results move to a table of their own, so reading a task's status never touches them. The same
 * SQL in both stores (SQLite has DROP COLUMN since 3.35).
 */
export const TASK_RESULTS_TABLE = `CREATE TABLE task_results (task_id TEXT PRIMARY KEY, result TEXT NOT NULL);
   INSERT INTO task_results (task_id, result) SELECT id, result FROM tasks WHERE result IS NOT NULL;
   ALTER TABLE tasks DROP COLUMN result;`;

/**
 * Which event finished the task. A recorder whose COMMIT went through but whose connection died
 * before it heard so tries the batch again; finding its own event recorded, it knows the commit
 * was its own and still counts the task and enqueues its deliveries. The same SQL in both stores.
 */
export const TASK_FINAL_EVENT_COLUMN = `ALTER TABLE tasks ADD COLUMN final_event_id TEXT;`;

/** Auth: the name of the API key that created the task (NULL: made without one). The same SQL in both stores. */
export const TASK_OWNER_COLUMN = `ALTER TABLE tasks ADD COLUMN owner TEXT;`;

/** The Tasks page: one key's tasks, newest first, paged by (created_at, id). The same SQL in both stores. */
export const TASK_OWNER_INDEX = `CREATE INDEX tasks_owner_created ON tasks (owner, created_at, id);`;

/**
 * How many delivery targets the task has (deliveries.create sets it), so reads of a task without
 * any skip the deliveries table; existing tasks are counted. The same SQL in both stores.
 */
export const TASK_DELIVERY_TARGETS_COLUMN = `ALTER TABLE tasks ADD COLUMN delivery_targets INTEGER NOT NULL DEFAULT 0;
   UPDATE tasks SET delivery_targets = (SELECT count(*) FROM deliveries d WHERE d.task_id = tasks.id);`;

/** What applying one event to a row gives: the row to write (and, on SUCCESS, the result's JSON), or why nothing is written. */
export type RowChange = { outcome: ApplyOutcome; row?: TaskRow; result?: string };

/**
 * Apply one event to the row as it stands (inside the caller's transaction, with the row locked).
 * Idempotent and monotonic through `reduceTask`; the outcome carries the record only for the event
 * that made the task terminal — applied now, or applied before by this very event (a retry after a
 * commit whose answer was lost) — built from what is written rather than read back.
 */
export function applyEventToRow(row: TaskRow | undefined, event: TaskEvent, now: number): RowChange {
  if (!row) return { outcome: { taskId: event.task_id, applied: false, reason: 'unknown_task' } };

  const reduction = reduceTask(row, event);
  const deliveryTargets = Number(row.delivery_targets ?? 0);
  if (!reduction.apply) {
    const replayed = reduction.reason === 'terminal' && row.final_event_id === event.event_id;
    const record = replayed ? { ...toRecord(row), ...(event.status === 'SUCCESS' ? { result: event.result ?? null } : {}) } : undefined;
    return { outcome: { taskId: event.task_id, applied: false, reason: reduction.reason, deliveryTargets, ...(record ? { record } : {}) } };
  }

  const at = Date.parse(event.at);
  const terminal = isTerminal(reduction.status);
  // STARTED and SUCCESS clear an earlier attempt's error; RETRY, FAILURE and REVOKED carry theirs.
  const error = event.status === 'STARTED' || event.status === 'SUCCESS' ? null : (event.error ?? rowError(row));
  const written: TaskRow = {
    ...row,
    status: reduction.status,
    attempt: reduction.attempt,
    progress: reduction.progress,
    progress_message: event.message ?? (reduction.isProgressOnly ? row.progress_message : null),
    artifacts: event.status === 'SUCCESS' ? JSON.stringify(event.artifacts ?? []) : row.artifacts,
    error_code: error?.code ?? null,
    error_message: error?.message ?? null,
    // A cancel is no start: a task revoked while queued keeps started_at null (and stays out of
    // the queue-wait and run-time histograms).
    started_at: row.started_at ?? (event.status === 'STARTED' || (terminal && event.status !== 'REVOKED') ? at : null),
    finished_at: terminal ? at : null,
    updated_at: now,
    final_event_id: terminal ? event.event_id : null,
  };
  const success = event.status === 'SUCCESS';
  const record = terminal ? { ...toRecord(written), ...(success ? { result: event.result ?? null } : {}) } : undefined;
  const outcome: ApplyOutcome = record
    ? { taskId: event.task_id, applied: true, record, deliveryTargets }
    : { taskId: event.task_id, applied: true, deliveryTargets };
  return success ? { outcome, row: written, result: JSON.stringify(event.result ?? null) } : { outcome, row: written };
}

/**
 * Within one batch, a copy of the event that has just made a task terminal is a duplicate, not a
 * replay: only the first carries the record (so the task is counted and delivered once).
 */
export function onlyFirstFinish(events: readonly TaskEvent[], outcomes: ApplyOutcome[]): ApplyOutcome[] {
  const finished = new Set<string>();
  return outcomes.map((outcome, index) => {
    if (!outcome.record) return outcome;
    const id = events[index]!.event_id;
    if (finished.has(id)) {
      const { record: _duplicate, ...rest } = outcome;
      return rest;
    }
    finished.add(id);
    return outcome;
  });
}

export function rowError(row: TaskRow): TaskError | null {
  return row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' };
}

export function toRecord(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    processor: row.processor,
    status: row.status,
    attempt: row.attempt,
    progress: row.progress,
    progressMessage: row.progress_message,
    artifacts: row.artifacts === null ? [] : (JSON.parse(row.artifacts) as FileRef[]),
    error: rowError(row),
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
    expiredAt: row.expired_at ?? null,
    owner: row.owner ?? null,
    deliveryTargets: Number(row.delivery_targets ?? 0),
  };
}

export function toRecordWithInput(row: TaskRowWithInput): TaskWithInput {
  return { ...toRecord(row), input: JSON.parse(row.input) as TaskInput };
}

/** Counts by status with every status present, so callers never meet a missing key. */
export function zeroCounts(): Record<TaskStatus, number> {
  return Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as Record<TaskStatus, number>;
}

import type { DeliveryAttempt, DeliveryRecord } from './delivery-types.js';
import type { DeliveryState, DeliveryTarget, TaskError } from '../../shared/index.js';

/**
 * The delivery tables and their rows, the same in SQLite and PostgreSQL (times are epoch ms in
 * BIGINT, targets JSON text), so both stores map rows alike.
 */
export const DELIVERY_TABLES = `
  CREATE TABLE deliveries (
    task_id            TEXT NOT NULL,
    target_id          TEXT NOT NULL,
    target             TEXT NOT NULL,
    state              TEXT NOT NULL,
    round              INTEGER NOT NULL DEFAULT 1,
    delivery_id        TEXT NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error_code    TEXT,
    last_error_message TEXT,
    last_http_status   INTEGER,
    location           TEXT,
    next_attempt_at    BIGINT,
    enqueued_at        BIGINT,
    delivered_at       BIGINT,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (task_id, target_id)
  );
  CREATE INDEX deliveries_waiting ON deliveries (state, enqueued_at, updated_at);
  CREATE TABLE delivery_attempts (
    task_id       TEXT NOT NULL,
    target_id     TEXT NOT NULL,
    round         INTEGER NOT NULL,
    attempt       INTEGER NOT NULL,
    event         TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    at            BIGINT NOT NULL,
    duration_ms   BIGINT NOT NULL,
    http_status   INTEGER,
    error_code    TEXT,
    error_message TEXT,
    PRIMARY KEY (task_id, target_id, event, round, attempt)
  );`;

/**
 * The started/progress notification of a target that may still be on its way (its webhook-id, and
 * until when it may be), so the final notification never overtakes it: `begin` leaves the final
 * unsent until it is reported or that time passes (gateway/background/delivery-jobs.ts).
 */
export const DELIVERY_NOTICE_COLUMNS = `ALTER TABLE deliveries ADD COLUMN notice_id TEXT;
   ALTER TABLE deliveries ADD COLUMN notice_until BIGINT;`;

export interface DeliveryRow {
  task_id: string;
  target_id: string;
  target: string;
  state: DeliveryState;
  round: number;
  delivery_id: string;
  attempts: number;
  last_error_code: string | null;
  last_error_message: string | null;
  last_http_status: number | null;
  location: string | null;
  next_attempt_at: number | null;
  enqueued_at: number | null;
  delivered_at: number | null;
  updated_at: number;
  notice_id: string | null;
  notice_until: number | null;
}

export interface AttemptRow {
  round: number;
  attempt: number;
  event: DeliveryAttempt['event'];
  outcome: DeliveryAttempt['outcome'];
  at: number;
  duration_ms: number;
  http_status: number | null;
  error_code: string | null;
  error_message: string | null;
}

export const FINISHED: ReadonlySet<DeliveryState> = new Set(['DELIVERED', 'FAILED']);

export function errorOf(code: string | null, message: string | null): TaskError | null {
  return code === null ? null : { code, message: message ?? '' };
}

export function toRecord(row: DeliveryRow): DeliveryRecord {
  return {
    taskId: row.task_id,
    targetId: row.target_id,
    target: JSON.parse(row.target) as DeliveryTarget,
    state: row.state,
    round: row.round,
    deliveryId: row.delivery_id,
    attempts: row.attempts,
    lastError: errorOf(row.last_error_code, row.last_error_message),
    lastHttpStatus: row.last_http_status,
    location: row.location,
    nextAttemptAt: row.next_attempt_at,
    enqueuedAt: row.enqueued_at,
    deliveredAt: row.delivered_at,
    updatedAt: row.updated_at,
    // PostgreSQL hands BIGINT back as a string.
    noticeUntil: row.notice_until === null ? null : Number(row.notice_until),
  };
}

export function toAttempt(row: AttemptRow): DeliveryAttempt {
  return {
    round: row.round,
    attempt: row.attempt,
    event: row.event,
    outcome: row.outcome,
    at: row.at,
    durationMs: row.duration_ms,
    httpStatus: row.http_status,
    error: errorOf(row.error_code, row.error_message),
  };
}

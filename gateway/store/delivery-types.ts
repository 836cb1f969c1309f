import type { DeliveryEvent, DeliveryState, DeliveryTarget, TaskError, TaskStatus, WebhookEvent } from '../../shared/index.js';

/** One target of one task (`webhook`, `s3`, `ftp`, `volume`) and how its delivery stands. Times are epoch ms. */
export interface DeliveryRecord {
  taskId: string;
  targetId: string;
  target: DeliveryTarget;
  state: DeliveryState;
  /** 1, and one more for every redeliver on demand. */
  round: number;
  /** The `webhook-id` of this round: the same on every retry. */
  deliveryId: string;
  attempts: number;
  lastError: TaskError | null;
  lastHttpStatus: number | null;
  location: string | null;
  nextAttemptAt: number | null;
  /** When the job of this round was confirmed by the broker; null while it still has to be sent. */
  enqueuedAt: number | null;
  deliveredAt: number | null;
  updatedAt: number;
  /** Until when a started/progress notification of this target may still be on its way; null when none is. */
  noticeUntil: number | null;
}

export interface DeliveryAttempt {
  round: number;
  attempt: number;
  event: WebhookEvent;
  outcome: DeliveryEvent['outcome'];
  at: number;
  durationMs: number;
  httpStatus: number | null;
  error: TaskError | null;
}

export type RedeliverOutcome = { ok: true; record: DeliveryRecord } | { ok: false; reason: 'not_found' | 'in_progress' | 'task_unfinished' };

/**
 * Delivery state, written by the gateway (targets at submit, redeliver on demand) and the recorder
 * (begin on a terminal task, outcomes of attempts). The task's own status is never touched here.
 */
export interface DeliveryStore {
  create(taskId: string, targets: readonly { targetId: string; target: DeliveryTarget }[], at: number): Promise<void>;
  forTask(taskId: string): Promise<DeliveryRecord[]>;
  /**
   * The task reached `status`: its PENDING targets start (DELIVERING), or fail at once when the task
   * was revoked. Returns every target of the task whose current round still has to be enqueued.
   * Idempotent, so the recorder and the sweeper may both call it.
   */
  begin(taskId: string, status: TaskStatus, at: number): Promise<DeliveryRecord[]>;
  /**
   * Take the target's one place for a started/progress notification (`noticeId`, on its way until
   * `until`): only while the task's deliveries have not begun and no other notice is on its way.
   * False means do not send it: the final one is (or may be) on its way already, or another notice is.
   */
  claimNotice(taskId: string, targetId: string, noticeId: string, until: number, now: number): Promise<boolean>;
  markEnqueued(keys: readonly Pick<DeliveryRecord, 'taskId' | 'targetId' | 'round'>[], at: number): Promise<void>;
  /** Tasks with targets that should have been enqueued before `before` and were not (a recorder died in between). */
  stranded(before: number, limit: number): Promise<string[]>;
  /** Apply attempt outcomes in one transaction: monotonic per round, a finished round never changes. */
  apply(events: readonly DeliveryEvent[]): Promise<void>;
  attempts(taskId: string, targetId: string): Promise<DeliveryAttempt[]>;
  /** Targets whose latest round FAILED, or that are still retrying after a failed attempt, newest first (the dashboard). */
  troubled(limit: number): Promise<DeliveryRecord[]>;
  /** A new round for a finished target (DELIVERED or FAILED) of a finished task. */
  redeliver(taskId: string, targetId: string, at: number): Promise<RedeliverOutcome>;
}

import type { DeliveryStore } from './delivery-types.js';
import type { DeliveryTarget, FileRef, TaskError, TaskEvent, TaskInput, TaskStatus } from '../../shared/index.js';

/**
 * A task as the store keeps it, without its input and result (read those where they are needed:
 * TaskWithInput, TaskStore.result). Times are epoch milliseconds.
 */
export interface TaskRecord {
  id: string;
  processor: string;
  status: TaskStatus;
  /** 0 while PENDING; the attempt of the latest event applied. */
  attempt: number;
  progress: number | null;
  progressMessage: string | null;
  /** Output files written by the processor (set with SUCCESS). */
  artifacts: FileRef[];
  error: TaskError | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  updatedAt: number;
  /** When the janitor removed the result and files; null while they are kept. */
  expiredAt: number | null;
  /** The name of the API key that created the task; null when it was made without one (API_KEYS unset, or ALLOW_ANONYMOUS). */
  owner: string | null;
  /** How many delivery targets the task has: with none, nothing needs reading from the deliveries tables. */
  deliveryTargets: number;
}

export interface TaskWithInput extends TaskRecord {
  input: TaskInput;
}

/** A task an event just made terminal, with its result when it succeeded (for its delivery jobs). */
export interface FinishedTask extends TaskRecord {
  result?: unknown;
}

export interface NewTask {
  id: string;
  processor: string;
  input: TaskInput;
  createdAt: number;
  /** The API key's name (see TaskRecord.owner); absent for an anonymous submit. */
  owner?: string;
  /** An `Idempotency-Key` submission: the key, a fingerprint of the request, and when the key lapses. */
  idempotency?: { key: string; fingerprint: string; expiresAt: number };
  /** Where its results go: written with the task, in the same transaction, so a task never exists without the targets it was submitted with. */
  targets?: readonly { targetId: string; target: DeliveryTarget }[];
}

/** What insertPending did: a new task, or the task an earlier submission with the same key made. */
export type InsertOutcome = { created: true } | { created: false; taskId: string; sameRequest: boolean };

export interface TaskQuery {
  status?: TaskStatus;
  processor?: string;
  /** Only tasks created before this time (epoch ms): the next page of a listing. */
  before?: number;
  /**
   * Keyset paging without gaps or repeats: only tasks after this one in the listing's order
   * (created_at, then id, both descending), so tasks created in the same millisecond are neither
   * skipped nor shown twice.
   */
  after?: { createdAt: number; id: string };
  /** Only the tasks of this API key; null: only those made without one; absent: everyone's. */
  owner?: string | null;
  limit: number;
}

export interface TaskCounts {
  /** Tasks by status, all time. */
  byStatus: Record<TaskStatus, number>;
  /** For each time asked about, the tasks that reached a terminal state since then, by status. */
  finishedSince: Record<TaskStatus, number>[];
}

export type ApplyOutcome = {
  taskId: string;
  applied: boolean;
  reason?: 'terminal' | 'stale' | 'duplicate' | 'unknown_task';
  /**
   * The task as written, for the event that made it terminal (metrics read its timestamps,
   * delivery jobs its result): when applied now, and when this very event (same event_id) had
   * made it terminal before — a batch tried again because the answer to its COMMIT was lost.
   */
  record?: FinishedTask;
  /** The task's TaskRecord.deliveryTargets, for every event of a known task (the recorder skips delivery work without any). */
  deliveryTargets?: number;
};

/**
 * The one place task state lives. The gateway inserts PENDING rows; after that only the recorder
 * writes, through `applyEvents`, which is idempotent and monotonic (see shared/states.ts).
 * Implementations must make a committed write visible to every process sharing the store.
 */
export interface TaskStore {
  /** Where each task's results go, and how that stands (webhook, S3, FTP, volume). */
  readonly deliveries: DeliveryStore;
  /** Insert a PENDING task — unless its idempotency key is already taken, then name that task. */
  insertPending(task: NewTask): Promise<InsertOutcome>;
  /**
   * The broker never confirmed the publish: the task was not accepted and must say so, and its
   * idempotency key is freed, so a retry makes a new task. Only a task still PENDING is marked;
   * false when it had moved on (the message got through after all, and a worker took it), and
   * then its key keeps naming it.
   */
  markNotAccepted(id: string, error: TaskError, at: number): Promise<boolean>;
  /** The task's state: the same few columns whatever its input and result weigh. */
  get(id: string): Promise<TaskRecord | undefined>;
  /** The JSON text of a SUCCESS task's result, as the worker sent it; undefined without one (unfinished, failed, expired). */
  result(id: string): Promise<string | undefined>;
  /** What the task was submitted with (fields and file references), for its page; undefined for an unknown id. */
  input(id: string): Promise<TaskInput | undefined>;
  /** Newest first. */
  list(query: TaskQuery): Promise<TaskRecord[]>;
  /** Tasks in `status` (an unfinished one) whose row has not changed since `updatedBefore`, oldest first: the stall check's candidates. */
  unfinished(status: TaskStatus, updatedBefore: number, limit: number): Promise<TaskRecord[]>;
  /** All-time counts once, plus finished counts for each of `since` (epoch ms). */
  counts(since: readonly number[]): Promise<TaskCounts>;
  /**
   * Retention: tasks that finished before `finishedBefore` and are not expired yet become expired
   * (their result is dropped, `expiredAt` set), at most `limit` of them; they are returned, with
   * their files, so the caller removes those. Each task is returned to one caller only, however
   * many gateways run janitors. Lapsed idempotency keys go too.
   */
  expireFinished(finishedBefore: number, limit: number, at: number): Promise<TaskWithInput[]>;
  /** The outbox: note that the broker confirmed these tasks' messages (batched; a lost note costs only a republish). */
  markConfirmed(ids: readonly string[], at: number): Promise<void>;
  /**
   * Claim PENDING tasks created before `createdBefore` whose publish was never noted as confirmed
   * (a gateway died between the insert and the confirm), at most `limit`; each is claimed by one
   * caller only (marked confirmed), which then publishes it — or un-claims it if that fails.
   */
  claimUnconfirmed(createdBefore: number, limit: number, at: number): Promise<TaskWithInput[]>;
  unclaim(ids: readonly string[]): Promise<void>;
  /** Apply a batch of events in one transaction; the caller acks them only after this resolves. */
  applyEvents(events: readonly TaskEvent[]): Promise<ApplyOutcome[]>;
  close(): Promise<void>;
}

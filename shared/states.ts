/**
 * Task states and the one rule for moving between them. Celery's names, so existing clients
 * understand them. Events arrive at least once and possibly out of order; `reduceTask` makes
 * applying them idempotent and monotonic: a terminal state never changes, and within the running
 * states only a later (attempt, phase) moves the task forward.
 */
export const TASK_STATUSES = ['PENDING', 'STARTED', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** What the reducer needs of a stored task. */
export interface TaskProgressState {
  status: TaskStatus;
  attempt: number;
  progress: number | null;
}

/** What the reducer needs of an event. `progress` on a STARTED event is a progress report. */
export interface TaskTransition {
  status: Exclude<TaskStatus, 'PENDING'>;
  attempt: number;
  progress?: number | undefined;
}

export type Reduction =
  | { apply: true; status: TaskStatus; attempt: number; progress: number | null; isProgressOnly: boolean }
  | { apply: false; reason: 'terminal' | 'stale' | 'duplicate' };

/** Within one attempt a task is STARTED, then either RETRY or terminal. */
const PHASE: Record<TaskStatus, number> = { PENDING: 0, STARTED: 1, RETRY: 2, SUCCESS: 3, FAILURE: 3, REVOKED: 3 };

export function reduceTask(current: TaskProgressState, event: TaskTransition): Reduction {
  if (isTerminal(current.status)) return { apply: false, reason: 'terminal' };

  // Terminal wins: whichever attempt it comes from, it ends the task.
  if (isTerminal(event.status)) {
    return {
      apply: true,
      status: event.status,
      attempt: Math.max(current.attempt, event.attempt),
      progress: event.status === 'SUCCESS' ? 1 : current.progress,
      isProgressOnly: false,
    };
  }

  const order = compare([event.attempt, PHASE[event.status]], [current.attempt, PHASE[current.status]]);
  if (order > 0) {
    const progress = event.status === 'STARTED' ? clampProgress(event.progress ?? 0) : current.progress;
    return { apply: true, status: event.status, attempt: event.attempt, progress, isProgressOnly: false };
  }
  if (order === 0 && event.status === 'STARTED' && event.progress !== undefined) {
    const progress = clampProgress(event.progress);
    // Progress only moves forward; a late report from earlier in the same attempt is stale.
    if (current.progress !== null && progress <= current.progress) return { apply: false, reason: 'stale' };
    return { apply: true, status: current.status, attempt: current.attempt, progress, isProgressOnly: true };
  }
  return { apply: false, reason: order === 0 ? 'duplicate' : 'stale' };
}

function compare(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

function clampProgress(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.min(1, Math.max(0, value));
}

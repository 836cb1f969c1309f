import type { TaskEvent } from '../shared/index.js';

type StartedFields = Pick<TaskEvent, 'status'> & Partial<Pick<TaskEvent, 'progress' | 'message'>>;

/**
 * When a run says it has started (STARTED_REPORT_DELAY_MS). STARTED goes out once the run has lasted
 * `delayMs` (at once with 0); a run done sooner is reported by its final event alone: one publish,
 * one confirm, two queue deliveries and a store write fewer per fast task, and no `started` webhook
 * racing its own `completed`. Progress reported before then waits for the STARTED it follows, so
 * the first STARTED of a run never carries progress (that is what tells `started` from `progress`
 * webhooks). STARTED goes out without waiting for its confirm: the channel routes it ahead of what
 * follows, and it only informs (a task recorded SUCCESS without it has started all the same).
 */
export interface StartedReport {
  /** A progress report (STARTED with progress), sent now or right after the delayed STARTED. */
  progress(fields: StartedFields): void;
  /** Stop the clock: the run is over. */
  cancel(): void;
  /** STARTED's publish, if it went out: awaited before the ack, never before the final event. */
  readonly sent: Promise<void> | undefined;
}

export function startedReport(send: (fields: StartedFields) => Promise<void>, delayMs: number, onProgressError: (err: unknown) => void): StartedReport {
  let sent: Promise<void> | undefined;
  let heldProgress: StartedFields | undefined;
  const sendProgress = (fields: StartedFields): void => void send(fields).catch(onProgressError);
  const reportStarted = (): void => {
    sent = send({ status: 'STARTED' });
    sent.catch(() => {}); // awaited by the runner; this only keeps it from being reported as unhandled
    if (heldProgress) sendProgress(heldProgress);
    heldProgress = undefined;
  };
  const timer = delayMs > 0 ? setTimeout(reportStarted, delayMs) : undefined;
  if (timer === undefined) reportStarted();
  return {
    progress(fields) {
      if (sent === undefined) heldProgress = fields;
      else sendProgress(fields);
    },
    cancel() {
      clearTimeout(timer);
      heldProgress = undefined;
    },
    get sent() {
      return sent;
    },
  };
}

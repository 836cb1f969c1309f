import { Router, type Request } from 'express';
import { coerceError, isTerminal, publishTaskEvent, taskEvent, type Broker, type Logger } from '../../shared/index.js';
import type { TaskStore } from '../store/index.js';
import { broadcastRevoke } from '../celery/revoke.js';
import { HttpError } from '../http/http-errors.js';
import type { LiveEvents } from '../tasks/live-events.js';
import { deliveriesOf, toStatusDocument } from '../tasks/task-document.js';
import { loadTask } from '../tasks/task-lookup.js';
import { clientOf } from '../http/auth.js';
import { prefersHtml } from '../http/negotiation.js';
import type { Links } from '../links.js';

/**
 * POST {base}/task_cancel/:id — cancel an unfinished task.
 *
 * The gateway does not write the state itself: it publishes a REVOKED task event (confirmed), which
 * lands both in the results queue — the recorder applies it, so the store keeps its one writer —
 * and in the revocations stream, which workers read to skip the task or abort its run. Once the
 * broker confirmed it, the cancel survives any restart. The answer waits briefly for the recorder
 * so that it usually shows REVOKED already. A task of a processor Celery workers serve is also
 * revoked at them, as `celery control revoke --terminate` does (gateway/celery/revoke.ts).
 *
 * 202: cancelled now. 200: it was cancelled before (cancelling twice is harmless). 409
 * task_finished: it ended SUCCESS or FAILURE first.
 */
export interface CancelRouteDeps {
  links: Links;
  store: TaskStore;
  broker: Broker;
  live: LiveEvents;
  logger: Logger;
  /** Processors served by Celery workers: their cancels are broadcast to those workers too. */
  celeryProcessors?: ReadonlySet<string>;
}

export const CANCELLED = { code: 'revoked', message: 'cancelled by request' } as const;
/** How long the answer waits for the recorder to commit REVOKED. */
const COMMIT_WAIT_MS = 5_000;

export function cancelRoutes({ links, store, broker, live, logger, celeryProcessors = new Set() }: CancelRouteDeps): Router {
  const router = Router();

  router.post('/task_cancel/:id', async (req: Request<{ id: string }>, res) => {
    let record = await loadTask(store, req.params.id, clientOf(res));
    let status = 200;
    if (!isTerminal(record.status)) {
      await publishTaskEvent(
        broker,
        taskEvent({ task_id: record.id, processor: record.processor }, { status: 'REVOKED', attempt: Math.max(1, record.attempt), error: CANCELLED }),
      );
      logger.info({ taskId: record.id, processor: record.processor, was: record.status }, 'task cancelled by request');
      if (celeryProcessors.has(record.processor)) {
        // The cancel is recorded whatever comes of this: a Celery worker that runs the task anyway
        // changes nothing (terminal wins), and the bridge revokes it again when it hears of it.
        await broadcastRevoke(broker, record.id).catch((err: unknown) =>
          logger.warn({ taskId: record.id, err: coerceError(err).message }, 'revoke not broadcast to the Celery workers'),
        );
      }
      record = (await live.waitForTerminal(record.id, COMMIT_WAIT_MS)) ?? record;
      status = 202;
    }
    // A task that finished first (or while the cancel was on its way) keeps its outcome.
    if (record.status === 'SUCCESS' || record.status === 'FAILURE') {
      throw new HttpError(409, 'task_finished', `task already ended ${record.status}; it cannot be cancelled`, { status: record.status });
    }
    res.setHeader('Cache-Control', 'no-store');
    // The task page's Cancel button is a plain form post: back to the page, which shows REVOKED.
    if (prefersHtml(req)) {
      res.redirect(303, links.page(record.id));
      return;
    }
    res.status(status).json(toStatusDocument(record, links, await deliveriesOf(store, record)));
  });

  return router;
}

import { Router, type Request, type Response } from 'express';
import { isTerminal, publishDeliveryJob, type Broker, type Logger } from '../../shared/index.js';
import type { TaskStore } from '../store/index.js';
import { deliveryJob, withResult } from '../background/delivery-jobs.js';
import { HttpError } from '../http/http-errors.js';
import { deliveriesOf, toStatusDocument } from '../tasks/task-document.js';
import { loadTask } from '../tasks/task-lookup.js';
import { clientOf } from '../http/auth.js';
import type { Links } from '../links.js';

/**
 * A task's delivery targets:
 *   GET  {base}/task_deliveries/:id/:target            every attempt of that target, oldest first
 *   POST {base}/task_deliveries/:id/:target/redeliver  a new round for a finished target (202)
 */
export interface DeliveryRouteDeps {
  links: Links;
  store: TaskStore;
  broker: Broker;
  logger: Logger;
}

type TargetParams = { id: string; target: string };

export function deliveryRoutes({ links, store, broker, logger }: DeliveryRouteDeps): Router {
  const router = Router();

  const loadTarget = async (req: Request<TargetParams>, res: Response) => {
    const record = await loadTask(store, req.params.id, clientOf(res));
    const deliveries = await deliveriesOf(store, record);
    const delivery = deliveries.find((d) => d.targetId === req.params.target);
    if (!delivery) throw new HttpError(404, 'delivery_not_found', `task ${record.id} has no ${req.params.target.slice(0, 32)} target`);
    return { record, delivery };
  };

  router.get('/task_deliveries/:id/:target', async (req: Request<TargetParams>, res) => {
    const { record, delivery } = await loadTarget(req, res);
    const attempts = await store.deliveries.attempts(record.id, delivery.targetId);
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      task_id: record.id,
      target: delivery.targetId,
      attempts: attempts.map((a) => ({
        round: a.round,
        attempt: a.attempt,
        event: a.event,
        outcome: a.outcome,
        at: new Date(a.at).toISOString(),
        duration_ms: a.durationMs,
        http_status: a.httpStatus,
        error: a.error,
      })),
    });
  });

  router.post('/task_deliveries/:id/:target/redeliver', async (req: Request<TargetParams>, res) => {
    const { record, delivery } = await loadTarget(req, res);
    if (!isTerminal(record.status) || record.status === 'REVOKED') {
      throw new HttpError(
        409,
        'task_unfinished',
        record.status === 'REVOKED' ? 'the task was cancelled; it delivers nothing' : `task is ${record.status}; it delivers once it finishes`,
      );
    }
    const outcome = await store.deliveries.redeliver(record.id, delivery.targetId, Date.now());
    if (!outcome.ok)
      throw new HttpError(409, 'delivery_in_progress', `the ${delivery.targetId} delivery is still going on (${delivery.state}); wait for it to end`);
    // If this publish fails, the sweeper sends the new round later (it is not marked enqueued).
    await publishDeliveryJob(broker, deliveryJob(await withResult(store, record), outcome.record, 'completed', links));
    await store.deliveries.markEnqueued([outcome.record], Date.now());
    logger.info({ taskId: record.id, target: delivery.targetId, round: outcome.record.round }, 'redelivery requested');
    const document = toStatusDocument(record, links, await deliveriesOf(store, record));
    res.status(202).json(document.deliveries.find((d) => d.target === delivery.targetId));
  });

  return router;
}

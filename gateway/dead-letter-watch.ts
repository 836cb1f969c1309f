import type { ConsumeMessage } from 'amqplib';
import { ACK, deliveryEvent, deliveryJobs, taskEvent, taskMessages, type Broker, type Consumer, type DeliveryJob, type Logger, type TaskStore } from '../shared/index.js';
import { enqueueFinalDeliveries } from './delivery-jobs.js';

/**
 * Part of the recorder's role: when the broker gives up on a task message — it hit the quorum
 * queue's delivery limit (it kept crashing or stalling its workers) or expired in the queue — the
 * task is recorded as FAILURE with the reason, instead of staying STARTED or PENDING forever.
 * Dead letters warren itself parked (contract violations, header x-warren-reason) carry no
 * readable task and are left to the dead-letter queue and its operators.
 */
const GIVE_UP_REASONS: Record<string, string> = {
  delivery_limit: 'the broker gave up after the delivery limit: the task kept crashing or stalling its workers',
  expired: 'the task expired in the queue before a worker took it',
  maxlen: 'the task was dropped from a full queue',
};

interface XDeath {
  reason?: string;
  queue?: string;
  count?: number;
}

export function startDeadLetterWatch({ broker, store, logger, basePath = '' }: { broker: Broker; store: TaskStore; logger: Logger; basePath?: string }): Consumer {
  return broker.consume(broker.topology.queues.deadLetterWatch, 16, async (message: ConsumeMessage) => {
    const death = (message.properties.headers?.['x-death'] as XDeath[] | undefined)?.[0];
    const why = death?.reason ? GIVE_UP_REASONS[death.reason] : undefined;
    const body = safeJson(message.content);
    if (why && deliveryJobs.check(body)) {
      await giveUpDelivery(store, body, death!.reason!, why);
      logger.warn({ taskId: body.task_id, target: body.target_id, reason: death!.reason }, 'delivery given up by the broker; recorded as FAILED');
      return ACK;
    }
    if (!why || !taskMessages.check(body)) return ACK;
    const task = taskMessages.decode(message.content);
    const deliveries = Number(message.properties.headers?.['x-delivery-count'] ?? death?.count ?? 0) || 0;
    const [outcome] = await store.applyEvents([
      taskEvent(task, { status: 'FAILURE', attempt: task.attempt + deliveries, error: { code: `dead_lettered_${death!.reason}`, message: why } }),
    ]);
    if (outcome?.applied) logger.warn({ taskId: task.task_id, reason: death!.reason, queue: death?.queue }, 'task given up by the broker; recorded as FAILURE');
    if (outcome?.record) await enqueueFinalDeliveries({ broker, store, basePath, logger }, outcome.record);
    return ACK;
  });
}

/** A delivery job that kept killing its deliverer: its round ends FAILED, with the reason. */
async function giveUpDelivery(store: TaskStore, job: DeliveryJob, reason: string, why: string): Promise<void> {
  await store.deliveries.apply([
    deliveryEvent(job, { outcome: 'FAILED', duration_ms: 0, error: { code: `dead_lettered_${reason}`, message: why.replace('the task', 'the delivery') } }),
  ]);
}

function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

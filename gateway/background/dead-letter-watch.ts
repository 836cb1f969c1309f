import type { ConsumeMessage } from 'amqplib';
import {
  ACK,
  coerceError,
  deliveryEvent,
  deliveryEvents,
  deliveryJobs,
  isTaskId,
  TASK_EVENT_TYPE,
  taskEvent,
  taskEvents,
  taskMessages,
  type Broker,
  type Consumer,
  type DeliveryJob,
  type Logger,
  type TaskError,
  type TaskEvent,
} from '../../shared/index.js';
import { storeFaultOf, type TaskStore } from '../store/index.js';
import type { GatewayMetrics } from '../metrics.js';
import { retryDelayMs } from './store-retry.js';
import { taskFinished } from './task-finished.js';
import type { Links } from '../links.js';

/**
 * Part of the recorder's role: whatever reaches the dead letters and concerns a task is settled
 * here, so that no accepted task is left unfinished because a message about it was parked.
 * - A task message the broker gave up on (its delivery limit: it kept crashing or stalling its
 *   workers; it expired in the queue; a full queue dropped it; a consumer rejected it, as a
 *   foreign worker may) or that warren itself parked (misrouted): the task is recorded FAILURE
 *   with the reason.
 * - A task event or a delivery report (the results queue's delivery limit was spent, say by a
 *   store that kept failing): it is applied again — events are idempotent.
 * - An event the store refused outright (the recorder parked it): its task is recorded FAILURE
 *   (event_unrecordable), since the event that would have finished it cannot be written.
 * - A delivery job the broker gave up on: its round ends FAILED.
 * - Anything else naming a task (a malformed message with a task_id): the task is recorded
 *   FAILURE with the reason, unless it is only a running task's progress.
 * While the store is unavailable the message is held and tried again with backoff, as the
 * recorder does. The dead-letter queue itself keeps every message for operators either way.
 */
const BROKER_REASONS: Record<string, string> = {
  delivery_limit: 'the broker gave up after the delivery limit: the task kept crashing or stalling its workers',
  expired: 'the task expired in the queue before a worker took it',
  maxlen: 'the task was dropped from a full queue',
  // warren's own workers never reject; one that cannot read the task (a Celery worker pointed at a warren queue, say) does.
  rejected: 'a worker rejected the task message (one that cannot read warren tasks, such as a Celery worker on a warren queue?)',
};

interface XDeath {
  reason?: string;
  queue?: string;
  count?: number;
}

export interface DeadLetterWatchDeps {
  broker: Broker;
  store: TaskStore;
  logger: Logger;
  links: Links;
  metrics?: Pick<GatewayMetrics, 'taskFinished'>;
  onFinished?: (taskId: string) => void;
}

/** Why a message was dead-lettered: the broker's x-death reason, or warren's own x-warren-reason. */
function reasonOf(message: ConsumeMessage): { code: string; why: string; warren: boolean } | undefined {
  const headers = message.properties.headers ?? {};
  const death = (headers['x-death'] as XDeath[] | undefined)?.[0];
  if (death?.reason) return { code: death.reason, why: BROKER_REASONS[death.reason] ?? `the broker dead-lettered it (${death.reason})`, warren: false };
  const warren: unknown = headers['x-warren-reason'];
  if (typeof warren === 'string') return { code: warren.startsWith('the store refused') ? 'unrecordable' : 'parked', why: warren, warren: true };
  return undefined;
}

export function startDeadLetterWatch({ broker, store, logger, links, metrics, onFinished }: DeadLetterWatchDeps): Consumer {
  let stopping = false;
  const finished = { broker, store, logger, links, metrics, onFinished };

  /** Record `taskId` FAILURE with `error`, if the store knows it and it is unfinished. */
  const fail = async (taskId: string, error: TaskError, attempt?: number): Promise<boolean> => {
    const row = await store.get(taskId);
    if (!row) return false;
    const [outcome] = await store.applyEvents([
      taskEvent({ task_id: taskId, processor: row.processor }, { status: 'FAILURE', attempt: Math.max(1, attempt ?? row.attempt), error }),
    ]);
    if (outcome?.record) taskFinished(finished, outcome.record);
    return outcome?.applied ?? false;
  };

  const reapply = async (event: TaskEvent): Promise<void> => {
    const [outcome] = await store.applyEvents([event]);
    if (outcome?.record) taskFinished(finished, outcome.record);
  };

  const settle = async (message: ConsumeMessage): Promise<void> => {
    const reason = reasonOf(message);
    if (!reason) return;
    const body = safeJson(message.content);
    const delivered = Number(message.properties.headers?.['x-delivery-count'] ?? 0) || 0;
    if (deliveryJobs.check(body)) {
      await giveUpDelivery(store, body, reason.code, reason.why);
      logger.warn({ taskId: body.task_id, target: body.target_id, reason: reason.code }, 'delivery dead-lettered; recorded as FAILED');
    } else if (deliveryEvents.check(body)) {
      await store.deliveries.apply([body]);
    } else if (taskEvents.check(body)) {
      if (reason.code === 'unrecordable') {
        if (await fail(body.task_id, { code: 'event_unrecordable', message: reason.why.slice(0, 1000) }, body.attempt))
          logger.warn({ taskId: body.task_id }, 'task event could not be recorded; task recorded as FAILURE');
      } else {
        await reapply(body);
        logger.info({ taskId: body.task_id, status: body.status, reason: reason.code }, 'dead-lettered task event applied');
      }
    } else if (taskMessages.check(body)) {
      const code = reason.warren ? 'dead_lettered' : `dead_lettered_${reason.code}`;
      if (await fail(body.task_id, { code, message: reason.why.slice(0, 1000) }, body.attempt + delivered)) {
        logger.warn({ taskId: body.task_id, reason: reason.code }, 'task dead-lettered; recorded as FAILURE');
      }
    } else {
      const taskId = (body as { task_id?: unknown } | undefined)?.task_id;
      const { type, status } = (body ?? {}) as { type?: unknown; status?: unknown };
      // A malformed progress report leaves its task to finish as it will.
      const progressOnly = type === TASK_EVENT_TYPE && (status === 'STARTED' || status === 'RETRY');
      if (typeof taskId === 'string' && isTaskId(taskId) && !progressOnly) {
        if (
          await fail(taskId.toLowerCase(), {
            code: 'dead_lettered_malformed',
            message: `a malformed message about the task was dead-lettered: ${reason.why}`.slice(0, 1000),
          })
        ) {
          logger.warn({ taskId, reason: reason.why }, 'malformed message about a task dead-lettered; task recorded as FAILURE');
        }
      }
    }
  };

  const consumer = broker.consume(broker.topology.queues.deadLetterWatch, 16, async (message, { channelClosed }) => {
    for (let tries = 1; ; tries += 1) {
      try {
        await settle(message);
        return ACK;
      } catch (err) {
        if (!storeFaultOf(err)) {
          // A bug, or a message the store can never take: the dead-letter queue keeps its copy.
          logger.error({ err: coerceError(err).message }, 'dead letter not settled; left to the dead-letter queue');
          return ACK;
        }
        if (stopping || channelClosed.aborted) return { kind: 'requeue', reason: 'store unavailable' };
        if (tries === 1) logger.warn({ err: coerceError(err).message }, 'store unavailable; holding a dead letter and trying again');
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs(tries)));
      }
    }
  });
  return {
    async stop() {
      stopping = true;
      await consumer.stop();
    },
  };
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

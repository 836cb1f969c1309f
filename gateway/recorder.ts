import type { ConsumeMessage } from 'amqplib';
import {
  ACK,
  ContractError,
  DELIVERY_EVENT_TYPE,
  coerceError,
  deliveryEvents,
  taskEvents,
  type Broker,
  type ConsumeOutcome,
  type Consumer,
  type DeliveryEvent,
  type Logger,
  type TaskEvent,
  type TaskStore,
} from '../shared/index.js';
import { enqueueFinalDeliveries } from './delivery-jobs.js';
import type { Notifier } from './notifier.js';
import type { GatewayMetrics } from './metrics.js';

/**
 * The recorder: the only writer of task state after the PENDING insert. It consumes the results
 * queue and applies events to the store in batches — everything that arrived in one turn of the
 * event loop is committed in one transaction, then each message is acked. A crash before the commit
 * means redelivery, and applying an event twice is harmless (shared/states.ts).
 * Any number of gateway replicas run one; they compete on the queue.
 *
 * Deliveries: the same queue carries deliverers' reports (DeliveryEvent), applied in the same
 * turn. When an event makes a task terminal, its delivery jobs are enqueued after the commit; if
 * that fails (or this process dies first), the sweeper (gateway/delivery-sweeper.ts) sends them.
 */
export interface RecorderDeps {
  broker: Broker;
  store: TaskStore;
  logger: Logger;
  /** Most unacked events in flight, and so the largest batch. */
  prefetch: number;
  /** Counts and times tasks as they finish (only events that changed the store count). */
  metrics?: Pick<GatewayMetrics, 'taskFinished'>;
  /** Told of each task this recorder made terminal, right after the commit (wakes local waiters). */
  onFinished?: (taskId: string) => void;
  /** For delivery jobs' status documents. */
  basePath?: string;
  /** Sends started/progress webhooks for tasks that asked for them. */
  notifier?: Notifier;
}

interface Pending {
  event: TaskEvent | DeliveryEvent;
  settle: (outcome: ConsumeOutcome) => void;
}

const isDeliveryEvent = (event: TaskEvent | DeliveryEvent): event is DeliveryEvent => event.type === DELIVERY_EVENT_TYPE;

export function startRecorder({ broker, store, logger, prefetch, metrics, onFinished, basePath = '', notifier }: RecorderDeps): Consumer {
  let batch: Pending[] = [];
  let scheduled = false;

  const flush = async (): Promise<void> => {
    scheduled = false;
    const all = batch;
    batch = [];
    const current = all.filter((p): p is Pending & { event: TaskEvent } => !isDeliveryEvent(p.event));
    const deliveryReports = all.filter((p): p is Pending & { event: DeliveryEvent } => isDeliveryEvent(p.event));
    try {
      const outcomes = await store.applyEvents(current.map((p) => p.event));
      await store.deliveries.apply(deliveryReports.map((p) => p.event));
      for (const pending of deliveryReports) pending.settle(ACK);
      outcomes.forEach((outcome, index) => {
        if (outcome.reason === 'unknown_task') {
          logger.warn({ taskId: outcome.taskId }, 'event for a task this store does not know; dropped');
        }
        // Only the applied event counts: a redelivered or duplicate terminal event changes nothing.
        const { event } = current[index]!;
        if (outcome.record) {
          metrics?.taskFinished(outcome.record);
          onFinished?.(outcome.taskId);
          logger.debug({ taskId: outcome.taskId, processor: outcome.record.processor, status: outcome.record.status }, 'task finished');
          const record = outcome.record;
          enqueueFinalDeliveries({ broker, store, basePath, logger }, record).catch((err: unknown) =>
            logger.warn({ taskId: record.id, err: coerceError(err).message }, 'deliveries not enqueued yet; the sweeper will send them'),
          );
        } else if (event.status === 'STARTED' && outcome.deliveryTargets !== 0 && (outcome.applied || (outcome.reason === 'terminal' && event.progress === undefined))) {
          // Replicas' recorders compete for events, so another may have committed the task's end
          // first: it did start all the same, and a client that asked to hear it should.
          notifier?.started(event);
        }
        current[index]!.settle(ACK);
      });
    } catch (err) {
      // Nothing was committed: every event goes back to the queue.
      const reason = `store write failed: ${coerceError(err).message}`;
      // The first ids, so a search for a task's id finds this line without making it unbounded.
      const taskIds = current.slice(0, 20).map((p) => p.event.task_id);
      logger.error({ err: reason, events: current.length, taskIds }, 'recorder batch failed');
      for (const pending of all) pending.settle({ kind: 'requeue', reason });
    }
  };

  const onMessage = (message: ConsumeMessage): Promise<ConsumeOutcome> => {
    let event: TaskEvent | DeliveryEvent;
    try {
      event = message.properties.type === DELIVERY_EVENT_TYPE ? deliveryEvents.decode(message.content) : taskEvents.decode(message.content);
    } catch (err) {
      const reason = err instanceof ContractError ? err.message : coerceError(err).message;
      return Promise.resolve({ kind: 'dead-letter', reason });
    }
    return new Promise<ConsumeOutcome>((settle) => {
      batch.push({ event, settle });
      if (batch.length >= prefetch) {
        void flush();
      } else if (!scheduled) {
        scheduled = true;
        setImmediate(() => void flush());
      }
    });
  };

  return broker.consume(broker.topology.queues.results, prefetch, onMessage);
}

import type { ConsumeMessage } from 'amqplib';
import { ACK, ContractError, coerceError, taskEvents, type Broker, type ConsumeOutcome, type Consumer, type Logger, type TaskEvent, type TaskStore } from '../shared/index.js';
import type { GatewayMetrics } from './metrics.js';

/**
 * The recorder: the only writer of task state after the PENDING insert. It consumes the results
 * queue and applies events to the store in batches — everything that arrived in one turn of the
 * event loop is committed in one transaction, then each message is acked. A crash before the commit
 * means redelivery, and applying an event twice is harmless (shared/states.ts).
 * Any number of gateway replicas run one; they compete on the queue.
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
}

interface Pending {
  event: TaskEvent;
  settle: (outcome: ConsumeOutcome) => void;
}

export function startRecorder({ broker, store, logger, prefetch, metrics, onFinished }: RecorderDeps): Consumer {
  let batch: Pending[] = [];
  let scheduled = false;

  const flush = async (): Promise<void> => {
    scheduled = false;
    const current = batch;
    batch = [];
    try {
      const outcomes = await store.applyEvents(current.map((p) => p.event));
      outcomes.forEach((outcome, index) => {
        if (outcome.reason === 'unknown_task') {
          logger.warn({ taskId: outcome.taskId }, 'event for a task this store does not know; dropped');
        }
        // Only the applied event counts: a redelivered or duplicate terminal event changes nothing.
        if (outcome.record) {
          metrics?.taskFinished(outcome.record);
          onFinished?.(outcome.taskId);
          logger.debug({ taskId: outcome.taskId, processor: outcome.record.processor, status: outcome.record.status }, 'task finished');
        }
        current[index]!.settle(ACK);
      });
    } catch (err) {
      // Nothing was committed: every event goes back to the queue.
      const reason = `store write failed: ${coerceError(err).message}`;
      // The first ids, so a search for a task's id finds this line without making it unbounded.
      const taskIds = current.slice(0, 20).map((p) => p.event.task_id);
      logger.error({ err: reason, events: current.length, taskIds }, 'recorder batch failed');
      for (const pending of current) pending.settle({ kind: 'requeue', reason });
    }
  };

  const onMessage = (message: ConsumeMessage): Promise<ConsumeOutcome> => {
    let event: TaskEvent;
    try {
      event = taskEvents.decode(message.content);
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

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
  type DeliveryContext,
  type DeliveryEvent,
  type Logger,
  type TaskEvent,
} from '../../shared/index.js';
import { storeFaultOf, type TaskStore } from '../store/index.js';
import { releaseHeldFinal, taskFinished } from './task-finished.js';
import type { Notifier } from './notifier.js';
import type { GatewayMetrics } from '../metrics.js';
import { retryDelayMs } from './store-retry.js';
import type { Links } from '../links.js';

/**
 * The recorder: the only writer of task state after the PENDING insert. It consumes the results
 * queue and applies events to the store in batches — everything that arrived while the previous
 * batch was being committed (at low load: in one turn of the event loop) is committed in one
 * transaction, then each message is acked. A crash before the commit
 * means redelivery, and applying an event twice is harmless (shared/states.ts).
 * Any number of gateway replicas run one; they compete on the queue.
 *
 * Deliveries: the same queue carries deliverers' reports (DeliveryEvent), applied in the same
 * turn. When an event makes a task terminal, its delivery jobs are enqueued after the commit; if
 * that fails (or this process dies first), the sweeper (gateway/background/delivery-sweeper.ts) sends them.
 *
 * When the store is out of reach or full, the batch is held — unacked, so prefetch stops the
 * broker sending more — and tried again with backoff until the store is back. Handing it back
 * to the queue instead would spend the queue's delivery limit in a fraction of a second and
 * dead-letter the very events that finish tasks. An event the store refuses for any other reason
 * (it cannot be written, not "not now") is found by applying the batch's events one by one and is
 * dead-lettered with the reason; the dead-letter watch then records its task FAILURE.
 */
export interface RecorderDeps {
  broker: Broker;
  store: TaskStore;
  logger: Logger;
  /** Most unacked events in flight, and so the largest batch. */
  prefetch: number;
  /** Counts and times tasks as they finish (only events that changed the store count); how many events are held. */
  metrics?: Pick<GatewayMetrics, 'taskFinished' | 'recorderHeldEvents'>;
  /** Told of each task this recorder made terminal, right after the commit (wakes local waiters). */
  onFinished?: (taskId: string) => void;
  /** For delivery jobs' status documents. */
  links: Links;
  /** Sends started/progress webhooks for tasks that asked for them. */
  notifier?: Notifier;
}

interface Pending<E> {
  event: E;
  settle: (outcome: ConsumeOutcome) => void;
  /** The delivering channel closed: the broker will send the event again, this copy is void. */
  gone: AbortSignal;
}

const isDeliveryEvent = (event: TaskEvent | DeliveryEvent): event is DeliveryEvent => event.type === DELIVERY_EVENT_TYPE;

/**
 * One stream of events to apply (task events, or delivery reports): one batch in flight, the next
 * gathering meanwhile; held through store outages, isolated one by one when the store refuses a batch.
 */
function eventLane<E extends { task_id: string }>(
  name: string,
  apply: (pendings: Pending<E>[]) => Promise<void>,
  { logger, prefetch, setHeld }: { logger: Logger; prefetch: number; setHeld: (count: number) => void },
) {
  let batch: Pending<E>[] = [];
  let scheduled = false;
  let inFlight = false;
  let stopping = false;
  /** Set while the store is failing: when that began and how many tries it has cost. */
  let outage: { since: number; tries: number } | undefined;
  /** During an outage, the next try. */
  let retryTimer: NodeJS.Timeout | undefined;
  const handBack = (pendings: Pending<E>[]): void => {
    for (const pending of pendings) pending.settle({ kind: 'requeue', reason: 'gateway stopping during a store outage' });
  };

  const scheduleFlush = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => void flush());
  };
  const retryLater = (): void => {
    retryTimer ??= setTimeout(
      () => {
        retryTimer = undefined;
        void flush();
      },
      retryDelayMs(outage?.tries ?? 1),
    );
  };

  const hold = (pendings: Pending<E>[], err: unknown): void => {
    if (stopping) return handBack(pendings);
    batch = [...pendings, ...batch];
    if (!outage) {
      outage = { since: Date.now(), tries: 0 };
      logger.error({ lane: name, err: coerceError(err).message, events: pendings.length }, 'store unavailable; holding events and trying again');
    }
    outage.tries += 1;
    setHeld(batch.length);
    retryLater();
  };

  const recovered = (): void => {
    if (!outage) return;
    logger.info({ lane: name, outageMs: Date.now() - outage.since, tries: outage.tries }, 'store back; held events applied');
    outage = undefined;
    setHeld(0);
    clearTimeout(retryTimer);
    retryTimer = undefined;
    if (batch.length > 0) scheduleFlush();
  };

  /** A batch the store refused outright: apply its events singly, so one bad event fails alone. */
  const isolate = async (pendings: Pending<E>[], err: unknown): Promise<void> => {
    if (pendings.length === 1) {
      const reason = `the store refused the event: ${coerceError(err).message}`;
      logger.error({ lane: name, taskId: pendings[0]!.event.task_id, err: reason }, 'event cannot be recorded; dead-lettering it');
      pendings[0]!.settle({ kind: 'dead-letter', reason: reason.slice(0, 900) });
      return;
    }
    for (const [index, pending] of pendings.entries()) {
      try {
        await apply([pending]);
      } catch (single) {
        if (storeFaultOf(single)) return hold(pendings.slice(index), single);
        await isolate([pending], single);
      }
    }
  };

  const flush = async (): Promise<void> => {
    scheduled = false;
    if (retryTimer) return; // held: the retry timer flushes, after its delay
    // One batch in flight: what arrives meanwhile waits for its commit and goes in the next one,
    // so batches grow with the store's commit time rather than one transaction per turn (with
    // PostgreSQL, each is four round trips; with two gateways, each turn's batch is half as big).
    if (inFlight) return;
    inFlight = true;
    try {
      await flushBatch();
    } finally {
      inFlight = false;
      if (batch.length > 0) scheduleFlush();
    }
  };

  const flushBatch = async (): Promise<void> => {
    const all = batch;
    batch = [];
    // Copies whose channel closed meanwhile are void: the broker has sent (or will send) them again.
    const live = all.filter((pending) => !pending.gone.aborted);
    for (const pending of all) if (pending.gone.aborted) pending.settle({ kind: 'requeue', reason: 'channel closed' });
    if (live.length === 0) return;
    try {
      await apply(live);
      recovered();
    } catch (err) {
      if (storeFaultOf(err)) return hold(live, err);
      // The first ids, so a search for a task's id finds this line without making it unbounded.
      logger.error(
        { lane: name, err: coerceError(err).message, events: live.length, taskIds: live.slice(0, 20).map((p) => p.event.task_id) },
        'recorder batch refused; applying its events one by one',
      );
      await isolate(live, err);
    }
  };

  return {
    add(pending: Pending<E>): void {
      if (stopping && outage) return handBack([pending]);
      batch.push(pending);
      if (outage) {
        // Everything waits for the next try, which takes all of it at once.
        setHeld(batch.length);
        retryLater();
      } else if (batch.length >= prefetch) {
        void flush();
      } else {
        scheduleFlush();
      }
    },
    /** Hand held events back to the broker, so shutdown does not wait for the store. */
    stop(): void {
      stopping = true;
      if (!outage) return;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      outage = undefined;
      setHeld(0);
      handBack(batch.splice(0));
    },
  };
}

export function startRecorder({ broker, store, logger, prefetch, metrics, onFinished, links, notifier }: RecorderDeps): Consumer {
  const applyTaskEvents = async (pendings: Pending<TaskEvent>[]): Promise<void> => {
    const outcomes = await store.applyEvents(pendings.map((p) => p.event));
    outcomes.forEach((outcome, index) => {
      if (outcome.reason === 'unknown_task') {
        logger.warn({ taskId: outcome.taskId }, 'event for a task this store does not know; dropped');
      }
      // Only the applied event counts: a redelivered or duplicate terminal event changes nothing.
      const { event } = pendings[index]!;
      if (outcome.record) {
        taskFinished({ broker, store, logger, links, metrics, onFinished }, outcome.record);
      } else if (
        event.status === 'STARTED' &&
        outcome.deliveryTargets !== 0 &&
        (outcome.applied || ((outcome.reason === 'terminal' || outcome.reason === 'duplicate') && event.progress === undefined))
      ) {
        // Replicas' recorders compete for events, so another may have applied a progress report
        // (which starts the task too) or the task's end first: the notifier decides whether
        // "started" can still go out before the final notification, or is recorded as superseded.
        notifier?.started(event);
      }
      pendings[index]!.settle(ACK);
    });
  };

  const applyDeliveryReports = async (pendings: Pending<DeliveryEvent>[]): Promise<void> => {
    await store.deliveries.apply(pendings.map((p) => p.event));
    for (const pending of pendings) pending.settle(ACK);
    // A started/progress notice reported: a final notification held back for it may go now.
    const noticed = new Set(pendings.filter((p) => p.event.event !== 'completed').map((p) => p.event.task_id));
    for (const taskId of noticed) releaseHeldFinal({ broker, store, logger, links }, taskId);
  };

  const lanes = {
    tasks: eventLane('task events', applyTaskEvents, { logger, prefetch, setHeld: (count) => metrics?.recorderHeldEvents.labels('task').set(count) }),
    deliveries: eventLane('delivery reports', applyDeliveryReports, {
      logger,
      prefetch,
      setHeld: (count) => metrics?.recorderHeldEvents.labels('delivery').set(count),
    }),
  };

  const onMessage = (message: ConsumeMessage, { channelClosed }: DeliveryContext): Promise<ConsumeOutcome> => {
    let event: TaskEvent | DeliveryEvent;
    try {
      event = message.properties.type === DELIVERY_EVENT_TYPE ? deliveryEvents.decode(message.content) : taskEvents.decode(message.content);
    } catch (err) {
      const reason = err instanceof ContractError ? err.message : coerceError(err).message;
      return Promise.resolve({ kind: 'dead-letter', reason });
    }
    return new Promise<ConsumeOutcome>((settle) => {
      if (isDeliveryEvent(event)) lanes.deliveries.add({ event, settle, gone: channelClosed });
      else lanes.tasks.add({ event, settle, gone: channelClosed });
    });
  };

  const consumer = broker.consume(broker.topology.queues.results, prefetch, onMessage);
  return {
    async stop() {
      lanes.tasks.stop();
      lanes.deliveries.stop();
      await consumer.stop();
    },
  };
}

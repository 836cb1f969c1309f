import type { ConsumeMessage } from 'amqplib';
import {
  ACK,
  MessageTooLargeError,
  PublishError,
  coerceError,
  isTerminal,
  publishTaskEvent,
  taskEvent,
  type Broker,
  type ConsumeOutcome,
  type Consumer,
  type Logger,
  type TaskStatus,
} from '../../shared/index.js';
import { storeFaultOf, type TaskRecord, type TaskStore } from '../store/index.js';
import { retryDelayMs } from '../background/store-retry.js';
import { attemptOfReply, mapCeleryReply, parseCeleryReply, type CeleryReply } from './replies.js';
import { broadcastRevoke } from './revoke.js';

/**
 * The Celery bridge: turns what Celery workers' rpc:// result backend sends to warren's reply queue
 * into warren task events, published with a confirm to the events exchange — so the recorder
 * records them and status, results, webhooks, deliveries, `Prefer: wait` and live streams work as
 * for any other worker — and acks each reply only after its event is confirmed. Every gateway runs
 * one; they compete on the queue, as recorders do on theirs.
 *
 * A reply that is not JSON, or not a Celery reply, is dead-lettered with the reason (operators see
 * it); one about a task warren does not know (another app's?) is logged and dropped. While the
 * store or the broker is out of reach the reply is held and tried again, never handed back in a
 * tight loop that would spend the queue's delivery limit.
 */
export interface CeleryBridgeDeps {
  broker: Broker;
  store: TaskStore;
  logger: Logger;
  /** Replies in flight at once. */
  prefetch?: number;
  /** MAX_RESULT_BYTES: a larger result fails its task as result_too_large. */
  maxResultBytes: number;
}

/** How many tasks' last bridged state this gateway remembers (the store knows the rest, a little later). */
const REMEMBERED_TASKS = 10_000;

const PHASE: Record<TaskStatus, number> = { PENDING: 0, STARTED: 1, RETRY: 2, SUCCESS: 3, FAILURE: 3, REVOKED: 3 };

export function startCeleryBridge({ broker, store, logger, prefetch = 32, maxResultBytes }: CeleryBridgeDeps): Consumer {
  let stopping = false;
  /**
   * The last state this gateway bridged per task. The store lags behind by the recorder's batch,
   * so a RETRY right after a STARTED (or the next run's STARTED right after a RETRY) is numbered
   * from what was bridged, not from a store that has not caught up.
   */
  const bridged = new Map<string, { status: TaskStatus; attempt: number }>();
  /** One reply per task at a time, in the order they came: numbering depends on the one before. */
  const lanes = new Map<string, Promise<unknown>>();

  const remember = (taskId: string, state: { status: TaskStatus; attempt: number }): void => {
    bridged.delete(taskId);
    if (isTerminal(state.status)) return;
    bridged.set(taskId, state);
    if (bridged.size > REMEMBERED_TASKS) bridged.delete(bridged.keys().next().value!);
  };

  /** Run `work` until it succeeds, waiting out store and broker outages while the reply is ours. */
  const persist = async <T>(work: () => Promise<T>, channelClosed: AbortSignal): Promise<T | 'handed-back'> => {
    for (let tries = 1; ; tries += 1) {
      try {
        return await work();
      } catch (err) {
        if (!storeFaultOf(err) && !(err instanceof PublishError)) throw err;
        if (stopping || channelClosed.aborted) return 'handed-back';
        if (tries === 1) logger.warn({ err: coerceError(err).message }, 'Celery reply held: store or broker unavailable; trying again');
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs(tries)));
      }
    }
  };

  const bridge = async (reply: CeleryReply, channelClosed: AbortSignal): Promise<ConsumeOutcome> => {
    const mapped = mapCeleryReply(reply, { maxResultBytes });
    if (mapped.kind === 'ignore') {
      logger.info({ taskId: reply.taskId, celeryStatus: reply.status, reason: mapped.reason }, 'Celery reply ignored');
      return ACK;
    }
    const record = await persist(() => store.get(reply.taskId), channelClosed);
    if (record === 'handed-back') return { kind: 'requeue', reason: 'gateway stopping or channel closed while the store was unavailable' };
    if (!record) {
      logger.warn({ taskId: reply.taskId, celeryStatus: reply.status }, 'Celery reply for a task warren does not know; dropped');
      return ACK;
    }
    if (isTerminal(record.status)) {
      // A worker that never heard the cancel (it started later, or the broadcast was lost) is running a task warren revoked: revoke it again.
      if (record.status === 'REVOKED' && !isTerminal(mapped.status)) await revokeAgain(record);
      return ACK;
    }
    const known = later(record, bridged.get(reply.taskId));
    const attempt = attemptOfReply(known);
    const { kind: _kind, ...fields } = mapped;
    const event = taskEvent({ task_id: record.id, processor: record.processor }, { ...fields, attempt });
    if (mapped.status === 'FAILURE' && reply.traceback)
      logger.warn({ taskId: record.id, error: mapped.error, traceback: reply.traceback.slice(-4000) }, 'Celery task failed');
    const published = await persist(async () => {
      try {
        await publishTaskEvent(broker, event);
      } catch (err) {
        if (!(err instanceof MessageTooLargeError)) throw err;
        // Within MAX_RESULT_BYTES, yet too large to travel with the rest of the event: the task fails all the same.
        await publishTaskEvent(
          broker,
          taskEvent(event, {
            status: 'FAILURE',
            attempt,
            error: { code: 'result_too_large', message: `the Celery task's result is larger than MAX_RESULT_BYTES: ${err.message}` },
          }),
        );
      }
    }, channelClosed);
    if (published === 'handed-back') return { kind: 'requeue', reason: 'gateway stopping or channel closed while the broker was unavailable' };
    remember(record.id, { status: mapped.status, attempt });
    logger.info({ taskId: record.id, processor: record.processor, status: mapped.status, attempt }, 'Celery reply bridged');
    return ACK;
  };

  const revokeAgain = async (record: TaskRecord): Promise<void> => {
    logger.warn({ taskId: record.id, processor: record.processor }, 'a Celery worker runs a task warren revoked; revoking it again');
    await broadcastRevoke(broker, record.id).catch((err: unknown) => logger.warn({ taskId: record.id, err: coerceError(err).message }, 'revoke not broadcast'));
  };

  const handle = async (message: ConsumeMessage, channelClosed: AbortSignal): Promise<ConsumeOutcome> => {
    const reply = parseCeleryReply(message.content, message.properties as { contentType?: string; correlationId?: string });
    if ('invalid' in reply) {
      logger.warn({ reason: reply.invalid, correlationId: message.properties.correlationId as unknown }, 'unreadable message on the Celery reply queue');
      return { kind: 'dead-letter', reason: `not a Celery reply warren can read: ${reply.invalid}` };
    }
    const previous = lanes.get(reply.taskId) ?? Promise.resolve();
    const turn = previous.then(() => bridge(reply, channelClosed));
    const settled = turn.catch(() => undefined);
    lanes.set(reply.taskId, settled);
    void settled.then(() => {
      if (lanes.get(reply.taskId) === settled) lanes.delete(reply.taskId);
    });
    return turn;
  };

  const consumer = broker.consume(broker.topology.queues.celeryReplies, prefetch, (message, { channelClosed }) => handle(message, channelClosed));
  return {
    async stop() {
      stopping = true;
      await consumer.stop();
    },
  };
}

/** Whichever of two states of a task is further along (attempt, then phase). */
function later(a: { status: TaskStatus; attempt: number }, b: { status: TaskStatus; attempt: number } | undefined): { status: TaskStatus; attempt: number } {
  if (!b) return a;
  return b.attempt > a.attempt || (b.attempt === a.attempt && PHASE[b.status] > PHASE[a.status]) ? b : a;
}

import { randomUUID } from 'node:crypto';
import type { Channel, GetMessage, MessageProperties, Options } from 'amqplib';
import { coerceError, taskMessages, type Broker } from '../../shared/index.js';
import { queueRoles, type QueueRole } from './queue-roles.js';

/**
 * Operator queries and actions against the broker, for the dashboard. They speak AMQP only, on a
 * short-lived channel each (Broker.withChannel), so they neither share the publisher's confirm
 * channel nor disturb a consumer's prefetch.
 *
 * Peeking and redriving use basic.get without auto-ack. On a quorum queue every message returned
 * unacked counts as a delivery. The dead-letter queue is declared without x-delivery-limit, which
 * on RabbitMQ 3.x means no limit. RabbitMQ 4.0–4.2 default that limit to 20 and drop a message
 * past it (the DLQ has no dead-letter exchange of its own): on those versions the DLQ needs
 * x-delivery-limit -1, or peeking would eventually discard what it shows.
 */

export interface QueueStat {
  name: string;
  /** What the queue is for, as the topology declares it (queue-roles.ts): whether no consumer is a problem. */
  role: QueueRole;
  /** Ready messages (not those held unacked by consumers). */
  messages: number;
  /** null for a stream: RabbitMQ does not count a stream's readers in its AMQP answer (it always says 0). */
  consumers: number | null;
}

export interface DeadLetter {
  /** Position from the head of the dead-letter queue, 0 first. */
  index: number;
  reason: string | null;
  /** The queue the message was dead-lettered from: where a redrive sends it. */
  queue: string | null;
  dead_lettered_at: string | null;
  message_id: string | null;
  type: string | null;
  body_preview: string;
  size: number;
}

export interface RedriveResult {
  redriven: number;
  /** Messages left in the dead-letter queue, with why. */
  skipped: { message_id: string | null; reason: string }[];
  /** Set when the pass stopped early (a publish was not confirmed); what was redriven stays redriven. */
  stopped?: string;
}

const PREVIEW_CHARS = 500;
/** Set on every message a redrive sends: which pass sent it (dead-lettering keeps headers). */
const REDRIVE_HEADER = 'x-warren-redrive-pass';

/** Depth and consumers of every queue of the topology. A queue that does not exist is left out. */
export async function queueStats(broker: Broker): Promise<QueueStat[]> {
  const roles = queueRoles(broker.topology);
  // One channel per queue: a passive declare of a missing queue is a channel error (404) that
  // closes its channel, and it must not take the other queues' answers with it.
  const stats = await Promise.all(
    broker.topology.declare.queues.map(({ name }) =>
      broker
        .withChannel(async (channel) => {
          const { messageCount, consumerCount } = await channel.checkQueue(name);
          const role = roles.get(name) ?? 'work';
          return { name, role, messages: messageCount, consumers: role === 'stream' ? null : consumerCount };
        })
        .catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        }),
    ),
  );
  return stats.filter((stat): stat is QueueStat => stat !== undefined);
}

/**
 * Up to `limit` messages from the head of the dead-letter queue, left in place: they are taken
 * unacked and go back when the channel closes.
 */
export async function peekDeadLetters(broker: Broker, limit: number): Promise<DeadLetter[]> {
  const queue = broker.topology.queues.deadLetters;
  return broker.withChannel(async (channel) => {
    const { messageCount: readyBefore } = await channel.checkQueue(queue);
    const peeked: DeadLetter[] = [];
    try {
      while (peeked.length < limit) {
        const message = await channel.get(queue, { noAck: false });
        if (message === false) break;
        peeked.push(describeDeadLetter(message, peeked.length));
      }
    } finally {
      if (peeked.length > 0) channel.nackAll(true);
    }
    if (peeked.length > 0) await settleReturns(channel, queue, readyBefore);
    return peeked;
  });
}

/**
 * Send up to `limit` dead letters back to the queues they came from, one by one: republish through
 * the default exchange, wait for the confirm, then ack. A crash in between leaves a duplicate,
 * never a loss (consumers already see tasks at least once). Messages that name no queue of this
 * topology stay where they are and are reported.
 */
/**
 * `finishedStatus` says whether a task is terminal in the store already: a task message whose task
 * the dead-letter watch (or anything else) has finished is not sent again — running it could not
 * change its record, only spend a worker on it. It stays in the dead-letter queue, reported.
 */
export async function redriveDeadLetters(
  broker: Broker,
  { limit, finishedStatus = async () => undefined }: { limit: number; finishedStatus?: (taskId: string) => Promise<string | undefined> },
): Promise<RedriveResult> {
  const deadLetters = broker.topology.queues.deadLetters;
  // Only queues this topology declares: the default exchange drops a message for a queue that
  // does not exist, and the confirm would still say yes.
  const targets = new Set(broker.topology.declare.queues.map((q) => q.name).filter((name) => name !== deadLetters));

  // A message that still breaks its contract comes straight back to the DLQ while the pass is
  // running. Each pass stamps what it sends; meeting its own stamp again means it has gone round
  // the queue, and it stops there instead of bouncing that message until `limit`.
  const pass = randomUUID();
  return broker.withChannel(async (channel) => {
    const result: RedriveResult = { redriven: 0, skipped: [] };
    // Skipped messages stay unacked until the end, or the next basic.get would hand them over again.
    const held: GetMessage[] = [];
    try {
      for (let taken = 0; taken < limit; taken += 1) {
        const message = await channel.get(deadLetters, { noAck: false });
        if (message === false) break;
        if (message.properties.headers?.[REDRIVE_HEADER] === pass) {
          held.push(message);
          break;
        }
        const messageId = text(message.properties.messageId) ?? null;
        const queue = originalQueue(message.properties);
        if (queue === undefined || !targets.has(queue)) {
          held.push(message);
          result.skipped.push({ message_id: messageId, reason: queue === undefined ? 'no original queue recorded' : `unknown queue "${queue}"` });
          continue;
        }
        const taskId = taskIdOf(message);
        const finished = taskId === undefined ? undefined : await finishedStatus(taskId);
        if (finished !== undefined) {
          held.push(message);
          result.skipped.push({ message_id: messageId, reason: `task ${taskId} has finished (${finished}); send it anew instead` });
          continue;
        }
        try {
          await broker.publish('', queue, message.content, republishOptions(message.properties, pass));
        } catch (err) {
          held.push(message);
          result.stopped = coerceError(err).message;
          break;
        }
        channel.ack(message);
        result.redriven += 1;
      }
    } finally {
      requeue(channel, held);
    }
    if (held.length > 0) await settleReturns(channel, deadLetters, held.length);
    return result;
  });
}

/**
 * A quorum queue applies requeued messages a moment after the nack (once its log has them), so a
 * reader right behind us (the next refresh, a redrive click) could find them missing. Wait, briefly,
 * until the queue holds as many ready messages as it should again. Others consuming at the same
 * time can keep that from happening: then the wait just ends.
 */
async function settleReturns(channel: Channel, queue: string, expectedReady: number, timeoutMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { messageCount } = await channel.checkQueue(queue);
    if (messageCount >= expectedReady) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The task a dead-lettered task message is for; undefined for anything else. */
function taskIdOf(message: GetMessage): string | undefined {
  try {
    const body = JSON.parse(message.content.toString('utf8')) as unknown;
    return taskMessages.check(body) ? body.task_id : undefined;
  } catch {
    return undefined;
  }
}

function requeue(channel: Channel, messages: readonly GetMessage[]): void {
  for (const message of messages) {
    try {
      channel.nack(message, false, true);
    } catch {
      // The channel is gone; closing it returned the message anyway.
    }
  }
}

function describeDeadLetter(message: GetMessage, index: number): DeadLetter {
  const headers = message.properties.headers ?? {};
  const death = firstDeath(headers['x-death']);
  return {
    index,
    reason: text(headers['x-warren-reason']) ?? death?.reason ?? null,
    queue: originalQueue(message.properties) ?? null,
    dead_lettered_at: text(headers['x-warren-dead-lettered-at']) ?? death?.time ?? null,
    message_id: text(message.properties.messageId) ?? null,
    type: text(message.properties.type) ?? null,
    // Decoding only a bounded slice: a large body should not cost a large string per refresh.
    body_preview: message.content
      .subarray(0, PREVIEW_CHARS * 4)
      .toString('utf8')
      .slice(0, PREVIEW_CHARS),
    size: message.content.length,
  };
}

/** warren's own header names the queue; RabbitMQ's x-death does when the broker dead-lettered it. */
function originalQueue(properties: MessageProperties): string | undefined {
  const headers = properties.headers ?? {};
  return text(headers['x-warren-queue']) ?? firstDeath(headers['x-death'])?.queue;
}

/** The most recent death comes first in x-death. */
function firstDeath(value: unknown): { reason?: string; queue?: string; time?: string } | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const entry = value[0] as Record<string, unknown> | null;
  if (typeof entry !== 'object' || entry === null) return undefined;
  const death: { reason?: string; queue?: string; time?: string } = {};
  const reason = text(entry.reason);
  const queue = text(entry.queue);
  const time = amqpTimestamp(entry.time);
  if (reason !== undefined) death.reason = reason;
  if (queue !== undefined) death.queue = queue;
  if (time !== undefined) death.time = time;
  return death;
}

/** amqplib decodes an AMQP timestamp (seconds) as `{ '!': 'timestamp', value }`. */
function amqpTimestamp(value: unknown): string | undefined {
  const seconds = typeof value === 'object' && value !== null ? (value as { value?: unknown }).value : value;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return undefined;
  return new Date(seconds * 1000).toISOString();
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

/**
 * The original message's properties minus what the dead-lettering added: warren's x-warren-*
 * headers and the broker's death and delivery bookkeeping. x-delivery-count in particular must go,
 * or the worker would count the old queue's deliveries as attempts of the redriven task. userId is
 * dropped because the broker refuses a publish whose user-id is not the publishing user's.
 */
function republishOptions(properties: MessageProperties, pass: string): Options.Publish {
  const headers: Record<string, unknown> = Object.fromEntries(Object.entries(properties.headers ?? {}).filter(([name]) => !isBookkeepingHeader(name)));
  headers[REDRIVE_HEADER] = pass;
  const options: Options.Publish = { headers };
  const copy = <K extends keyof Options.Publish>(key: K, value: Options.Publish[K] | undefined): void => {
    if (value !== undefined && value !== null) options[key] = value;
  };
  copy('contentType', properties.contentType as string | undefined);
  copy('contentEncoding', properties.contentEncoding as string | undefined);
  copy('correlationId', properties.correlationId as string | undefined);
  copy('replyTo', properties.replyTo as string | undefined);
  copy('expiration', properties.expiration as string | undefined);
  copy('messageId', properties.messageId as string | undefined);
  copy('timestamp', properties.timestamp as number | undefined);
  copy('type', properties.type as string | undefined);
  copy('appId', properties.appId as string | undefined);
  copy('priority', properties.priority as number | undefined);
  return options;
}

function isBookkeepingHeader(name: string): boolean {
  return name.startsWith('x-warren-') || name === 'x-death' || name === 'x-delivery-count' || /^x-(first|last)-death-/.test(name);
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 404;
}

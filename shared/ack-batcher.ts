import type { Channel, ConsumeMessage } from 'amqplib';

/**
 * Acks of one channel, sent once per event-loop turn: when every message the channel delivered up
 * to some delivery tag has been acked, one `basic.ack` with `multiple` settles them all. The
 * recorder acks a whole committed batch in one turn, so a batch of 50 events costs one frame, one
 * write and one settle command in the quorum queue instead of 50. Messages still held (in flight,
 * or held through a store outage) stay unacked: a multiple ack never reaches past them, and acks
 * beyond such a gap go out one by one.
 */
export interface AckBatcher {
  /** Note a delivery, in the order the channel delivered them. */
  delivered(message: ConsumeMessage): void;
  /** Ack `message` with the turn's other acks. */
  ack(message: ConsumeMessage): void;
  /** Nack at once (after flushing the acks before it): the broker requeues or dead-letters it. */
  nack(message: ConsumeMessage, requeue: boolean): void;
}

export function ackBatcher(channel: Pick<Channel, 'ack' | 'nack'>, onError: (err: unknown) => void): AckBatcher {
  /** Delivery tags delivered and not yet settled, ascending (the channel delivers them in order). */
  const unsettled: number[] = [];
  const acked = new Set<number>();
  const messages = new Map<number, ConsumeMessage>();
  let scheduled = false;

  /** In its own turn: a channel closed meanwhile throws, and the broker redelivers what it held. */
  const flushLater = (): void => {
    try {
      flush();
    } catch (err) {
      onError(err);
    }
  };

  const flush = (): void => {
    scheduled = false;
    if (acked.size === 0) return;
    // The longest run of unsettled tags from the oldest that is wholly acked: one multiple ack.
    let covered = 0;
    while (covered < unsettled.length && acked.has(unsettled[covered]!)) covered += 1;
    if (covered > 0) {
      const last = unsettled[covered - 1]!;
      channel.ack(messages.get(last)!, covered > 1);
      for (const tag of unsettled.splice(0, covered)) {
        acked.delete(tag);
        messages.delete(tag);
      }
    }
    // Acked behind a message still held: each on its own.
    for (const tag of acked) {
      channel.ack(messages.get(tag)!);
      messages.delete(tag);
      unsettled.splice(unsettled.indexOf(tag), 1);
    }
    acked.clear();
  };

  return {
    delivered(message) {
      unsettled.push(message.fields.deliveryTag);
      messages.set(message.fields.deliveryTag, message);
    },
    ack(message) {
      acked.add(message.fields.deliveryTag);
      if (scheduled) return;
      scheduled = true;
      setImmediate(flushLater);
    },
    nack(message, requeue) {
      flush();
      const tag = message.fields.deliveryTag;
      const at = unsettled.indexOf(tag);
      if (at !== -1) unsettled.splice(at, 1);
      messages.delete(tag);
      channel.nack(message, false, requeue);
    },
  };
}

import type { ConsumeMessage } from 'amqplib';

/**
 * What a consumer's handler says of each message, and how a consumer stops: the contract between
 * the Broker's consumers and the code that handles their messages (the recorder, the runner, the
 * deliverers, the dead-letter watch).
 */
export type ConsumeOutcome =
  | { kind: 'ack' }
  | { kind: 'requeue'; reason: string }
  /** Park the message in the dead-letter queue with a reason (contract violations, poison). */
  | { kind: 'dead-letter'; reason: string };

/** What a handler may want to know of the delivery beyond the message. */
export interface DeliveryContext {
  /**
   * Aborted when the channel that delivered the message closes (a reconnect): the broker has taken
   * the message back and will deliver it again, so a handler holding it (the recorder during a
   * store outage) may drop its copy.
   */
  channelClosed: AbortSignal;
}

export type MessageHandler = (message: ConsumeMessage, delivery: DeliveryContext) => Promise<ConsumeOutcome>;

export interface Consumer {
  /** Stop taking new messages, wait for in-flight handlers, settle them. Idempotent. */
  stop(): Promise<void>;
}

export const ACK: ConsumeOutcome = { kind: 'ack' };

import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, ConfirmChannel } from 'amqplib';
import type { Consumer } from './consumer.js';
import type { Logger } from './logger.js';

export interface ChannelConsumerOptions {
  connection: AmqpConnectionManager;
  logger: Logger;
  /** The channel's name, in logs. */
  name: string;
  /** Sets the consumer up on a fresh channel (after every reconnect too) and returns its tag. */
  start: (channel: ConfirmChannel) => Promise<string>;
  /** Waits for the handlers in flight, when the consumer stops. */
  drain?: (() => Promise<unknown>) | undefined;
  /** Called once the consumer has stopped. */
  onStop: () => void;
}

/**
 * A consumer on a channel of its own that amqp-connection-manager re-creates (running `start`
 * again) after every reconnect. `stop` cancels it on the channel that has it, waits for `drain`
 * (in-flight handlers), then closes the channel. Idempotent.
 */
export function openChannelConsumer({ connection, logger, name, start, drain = async () => {}, onStop }: ChannelConsumerOptions): Consumer {
  let current: { channel: Channel; tag: string } | undefined;
  let stopped = false;
  const setup = async (channel: ConfirmChannel): Promise<void> => {
    current = { channel, tag: await start(channel) };
  };
  let wrapper: ChannelWrapper;
  const open = (): void => {
    wrapper = connection.createChannel({ name, confirm: false, setup });
    wrapper.on('error', (err: Error) => {
      logger.error({ channel: name, err: err.message, hint: topologyHint(err.message) }, 'consumer channel setup failed; retrying');
      // A failed setup leaves the channel without its consumer until the next reconnect, which
      // may never come: a recorder that silently stopped would leave every task unrecorded.
      // Start over on a fresh channel instead.
      const failed = wrapper;
      setTimeout(() => {
        if (stopped || failed !== wrapper) return;
        void failed.close().catch(() => {});
        open();
      }, 1000).unref();
    });
  };
  open();
  const consumer: Consumer = {
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await wrapper.removeSetup(setup, async () => {});
      if (current) await current.channel.cancel(current.tag).catch(() => {});
      await drain();
      await wrapper.close().catch(() => {});
      onStop();
    },
  };
  return consumer;
}

/** A queue declared earlier with other arguments cannot be redeclared; say what to do about it. */
export function topologyHint(message: string): string | undefined {
  if (!message.includes('PRECONDITION_FAILED') || !message.includes('inequivalent arg')) return undefined;
  return 'a queue exists with arguments different from this configuration (e.g. TASK_QUEUE_MAX_LENGTH or DELIVERY_LIMIT changed): align the configuration, or drain and delete the queue so it is declared anew';
}

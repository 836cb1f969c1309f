import { BINDING_VERSION, PERSISTENT, exchangeBinding, find, queueChannel, type Json } from './asyncapi-bindings.js';
import type { ExchangeSpec, QueueSpec, Topology } from '../../shared/index.js';

/**
 * The retry tiers of the AsyncAPI document: for tasks and for delivery jobs, the exchange a
 * message waits behind and the queue whose TTL hands it back.
 */
export function retryChannels(topology: Topology): { channels: Json; operations: Json } {
  const exchange = (name: string): ExchangeSpec => find(topology.declare.exchanges, name);
  const queue = (name: string): QueueSpec => find(topology.declare.queues, name);
  const message = (name: string): Json => ({ $ref: `#/components/messages/${name}` });
  const channels: Json = {};
  const operations: Json = {};
  for (const tier of topology.retryTiers) {
    channels[`retry.${tier.delayMs}ms`] = {
      address: '{processor}',
      parameters: { processor: { description: 'The name of the processor the task is for' } },
      title: `Retry after ${tier.delayMs} ms`,
      description:
        `Topic exchange \`${tier.exchange}\`, routing key = the processor. A worker republishes a task that failed transiently here (attempt + 1, ` +
        `after a confirmed RETRY event); it waits in the queue of the same name for ${tier.delayMs} ms (message TTL) and then expires back into ` +
        `\`${topology.exchanges.tasks}\` with its routing key, to its processor's queue.`,
      messages: { TaskMessage: message('TaskMessage') },
      bindings: { amqp: exchangeBinding(exchange(tier.exchange)) },
    };
    channels[`retryQueue.${tier.delayMs}ms`] = {
      ...queueChannel(queue(tier.exchange)),
      title: `Retry wait, ${tier.delayMs} ms`,
      description: 'Nothing consumes it: messages expire into the tasks exchange after the TTL.',
      messages: { TaskMessage: message('TaskMessage') },
    };
    operations[`retryTask.${tier.delayMs}ms`] = {
      action: 'send',
      channel: { $ref: `#/channels/retry.${tier.delayMs}ms` },
      summary: 'A worker schedules the next attempt of a transiently failed task',
      messages: [{ $ref: `#/channels/retry.${tier.delayMs}ms/messages/TaskMessage` }],
      bindings: { amqp: { deliveryMode: PERSISTENT, bindingVersion: BINDING_VERSION } },
    };
  }
  for (const tier of topology.deliveryRetryTiers) {
    channels[`deliveryRetry.${tier.delayMs}ms`] = {
      address: 'delivery',
      title: `Delivery retry after ${tier.delayMs} ms`,
      description: `Topic exchange \`${tier.exchange}\`: a job published here waits in the queue of the same name, then returns to the deliveries exchange.`,
      messages: { DeliveryJob: message('DeliveryJob') },
      bindings: { amqp: exchangeBinding(exchange(tier.exchange)) },
    };
    channels[`deliveryRetryQueue.${tier.delayMs}ms`] = {
      ...queueChannel(queue(tier.exchange)),
      title: `Delivery retry wait, ${tier.delayMs} ms`,
      description: `Deliverers republish a job whose attempt failed transiently (attempt + 1), or one they deferred unattempted because its API key or destination had all the slots it may hold (same attempt, deferrals + 1), to the topic exchange \`${tier.exchange}\` (routing key \`delivery\`); it expires back into \`${topology.exchanges.deliveries}\` after ${tier.delayMs} ms.`,
      messages: { DeliveryJob: message('DeliveryJob') },
    };
  }
  return { channels, operations };
}

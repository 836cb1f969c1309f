import { BINDING_VERSION, PERSISTENT, exchangeBinding, find, queueChannel, type Json } from './asyncapi-bindings.js';
import type { ExchangeSpec, ProcessorDescriptor, QueueSpec, Topology } from '../../shared/index.js';

/**
 * The task channels of the AsyncAPI document, one pair per processor warren's own workers serve:
 * the routing key the gateway publishes to, and the quorum queue a worker consumes.
 */
export function taskChannels(
  topology: Topology,
  processors: Pick<ProcessorDescriptor, 'name' | 'version' | 'description'>[],
): { channels: Json; operations: Json } {
  const exchange = (name: string): ExchangeSpec => find(topology.declare.exchanges, name);
  const queue = (name: string): QueueSpec => find(topology.declare.queues, name);
  const message = (name: string): Json => ({ $ref: `#/components/messages/${name}` });
  const channels: Json = {};
  const operations: Json = {};
  for (const processor of processors) {
    const queueName = topology.taskQueues.get(processor.name)!;
    channels[`tasks.${processor.name}`] = {
      address: processor.name,
      title: `Tasks for ${processor.name}`,
      description: `Routing key \`${processor.name}\` on the direct exchange \`${topology.exchanges.tasks}\`: ${processor.description}`,
      messages: { TaskMessage: message('TaskMessage') },
      bindings: { amqp: exchangeBinding(exchange(topology.exchanges.tasks)) },
    };
    channels[`taskQueue.${processor.name}`] = {
      ...queueChannel(queue(queueName)),
      title: `Queue of ${processor.name}`,
      description:
        `Quorum queue of processor ${processor.name} (${processor.version}). Consume with manual acks and a bounded prefetch; publish STARTED (optional: ` +
        'the Node worker sends it only for a run that lasts STARTED_REPORT_DELAY_MS), then SUCCESS or FAILURE to the events exchange, each confirmed, and ack only then. A message that breaks its contract goes to the dead-letter exchange ' +
        'with x-warren-reason; one redelivered more than x-delivery-limit times is dead-lettered by the broker.',
      messages: { TaskMessage: message('TaskMessage') },
    };
    operations[`submitTask.${processor.name}`] = {
      action: 'send',
      channel: { $ref: `#/channels/tasks.${processor.name}` },
      summary: 'The gateway publishes an accepted task (persistent, with a publisher confirm; message id = task id)',
      messages: [{ $ref: `#/channels/tasks.${processor.name}/messages/TaskMessage` }],
      bindings: { amqp: { deliveryMode: PERSISTENT, bindingVersion: BINDING_VERSION } },
    };
    operations[`runTask.${processor.name}`] = {
      action: 'receive',
      channel: { $ref: `#/channels/taskQueue.${processor.name}` },
      summary: 'A worker serving this processor runs the task',
      messages: [{ $ref: `#/channels/taskQueue.${processor.name}/messages/TaskMessage` }],
      bindings: { amqp: { ack: true, bindingVersion: BINDING_VERSION } },
    };
  }

  return { channels, operations };
}

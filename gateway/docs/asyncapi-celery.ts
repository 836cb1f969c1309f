import { BINDING_VERSION, PERSISTENT, VHOST, exchangeBinding, find, queueChannel, toJsonSchema, type Json } from './asyncapi-bindings.js';
import { CeleryReply, CeleryRevoke, CeleryTaskBody, CeleryTaskHeaders } from '../celery/contracts.js';
import { buildTopology, type ProcessorDescriptor, type Topology, type TopologyOptions } from '../../shared/index.js';

/**
 * The Celery bridge in the AsyncAPI document: how the gateway speaks to Celery workers that serve
 * warren processors — in Celery's formats, so that their code does not change. Always described
 * (the default document has no Celery processor, yet says how one is served); the reply queue is
 * declared by gateways once some processor is Celery's.
 */
export function celeryAsyncApi(
  topology: Topology,
  processors: readonly Pick<ProcessorDescriptor, 'name' | 'celery'>[],
  options: Pick<TopologyOptions, 'prefix' | 'taskQueueMaxLength' | 'deliveryLimit'>,
): { channels: Json; operations: Json; messages: Json; schemas: Json } {
  // The reply queue's declaration as a gateway with a Celery processor makes it.
  const withReplies = topology.celery.queues.length > 0 ? topology : buildTopology({ ...options, processors: [], celeryQueues: ['celery'] });
  const replies = find(withReplies.declare.queues, withReplies.queues.celeryReplies);
  const defaultExchange = {
    is: 'routingKey',
    exchange: { name: '', type: 'direct', durable: true, autoDelete: false, vhost: VHOST },
    bindingVersion: BINDING_VERSION,
  };
  const celeryMessage = (name: string): Json => ({ $ref: `#/components/messages/${name}` });
  const queueDeclaration = `declared by every gateway as Celery declares it — classic, durable, bound on the \`${topology.celery.exchange}\` direct exchange with its name as routing key — so it keeps tasks sent before any Celery worker started`;

  const channels: Json = {
    celeryTasks: {
      address: '{queue}',
      parameters: { queue: { description: 'The Celery queue of a processor: its descriptor’s celery.queue (default "celery")' } },
      title: 'Tasks for Celery workers',
      description:
        'A processor whose descriptor names a Celery task (`"celery": {"task": "tasks.elab_file", "queue": "celery"}`) gets a Celery protocol v2 task message instead of a TaskMessage, ' +
        `published with a confirm to the default exchange with the queue's name as routing key, as Celery's own producer sends; the queue is ${queueDeclaration}. ` +
        'warren declares no queue of its own for such a processor and never sends a TaskMessage there.',
      messages: { CeleryTask: celeryMessage('CeleryTask') },
      bindings: { amqp: defaultExchange },
    },
    celeryReplies: {
      ...queueChannel(replies),
      title: 'Replies of Celery workers',
      description:
        "Every Celery task message names this queue as reply_to; the workers' rpc:// result backend sends each state change of the task here. " +
        'Every gateway consumes it (competing, like the recorder) and publishes the matching TaskEvent to the events exchange, confirmed, then acks. ' +
        'A reply that is not JSON is dead-lettered with x-warren-reason; one naming a task warren does not know is dropped. Declared once some processor is served by Celery workers.',
      messages: { CeleryReply: celeryMessage('CeleryReply') },
    },
    celeryPidbox: {
      address: null,
      title: "Celery workers' mailbox",
      description: `Fanout exchange \`${topology.celery.pidbox}\` (kombu's Mailbox for the control exchange "celery"), bound by each running Celery worker's pidbox queue. A cancel of a Celery processor's task broadcasts revoke here.`,
      messages: { CeleryRevoke: celeryMessage('CeleryRevoke') },
      bindings: { amqp: exchangeBinding({ name: topology.celery.pidbox, type: 'fanout', options: { durable: false } }) },
    },
  };
  const operations: Json = {
    submitCeleryTask: {
      action: 'send',
      channel: { $ref: '#/channels/celeryTasks' },
      summary:
        'The gateway (and the task outbox, for a task whose confirm it never noted) publishes an accepted task for a Celery worker (persistent, confirmed)',
      messages: [{ $ref: '#/channels/celeryTasks/messages/CeleryTask' }],
      bindings: { amqp: { deliveryMode: PERSISTENT, bindingVersion: BINDING_VERSION } },
    },
    runCeleryTask: {
      action: 'receive',
      channel: { $ref: '#/channels/celeryTasks' },
      summary: 'An unchanged Celery worker (celery -A tasks worker -Q <queue>) runs the task under warren’s task id',
      messages: [{ $ref: '#/channels/celeryTasks/messages/CeleryTask' }],
    },
    sendCeleryReply: {
      action: 'send',
      channel: { $ref: '#/channels/celeryReplies' },
      summary:
        "The Celery worker's rpc:// result backend reports a state change (default exchange, routing key = reply_to; transient unless result_persistent)",
      messages: [{ $ref: '#/channels/celeryReplies/messages/CeleryReply' }],
    },
    bridgeCeleryReplies: {
      action: 'receive',
      channel: { $ref: '#/channels/celeryReplies' },
      summary:
        'The Celery bridge in each gateway turns replies into task events: STARTED, SUCCESS, FAILURE (celery_<ExcType>), RETRY, REVOKED; acked after the event is confirmed',
      messages: [{ $ref: '#/channels/celeryReplies/messages/CeleryReply' }],
      bindings: { amqp: { ack: true, bindingVersion: BINDING_VERSION } },
    },
    revokeCeleryTask: {
      action: 'send',
      channel: { $ref: '#/channels/celeryPidbox' },
      summary:
        'POST task_cancel of a Celery processor’s task also revokes it at the Celery workers, terminating a running one (as celery control revoke --terminate)',
      messages: [{ $ref: '#/channels/celeryPidbox/messages/CeleryRevoke' }],
    },
  };
  for (const processor of processors) {
    if (!processor.celery) continue;
    channels[`celeryTasks.${processor.name}`] = {
      address: processor.celery.queue,
      title: `Tasks for ${processor.name}, on Celery workers`,
      description: `Celery task \`${processor.celery.task}\` on queue \`${processor.celery.queue}\`, ${queueDeclaration}.`,
      messages: { CeleryTask: celeryMessage('CeleryTask') },
      bindings: { amqp: defaultExchange },
    };
    operations[`submitCeleryTask.${processor.name}`] = {
      action: 'send',
      channel: { $ref: `#/channels/celeryTasks.${processor.name}` },
      summary: `The gateway publishes an accepted ${processor.name} task for ${processor.celery.task}`,
      messages: [{ $ref: `#/channels/celeryTasks.${processor.name}/messages/CeleryTask` }],
      bindings: { amqp: { deliveryMode: PERSISTENT, bindingVersion: BINDING_VERSION } },
    };
  }
  const amqp = { bindings: { amqp: { bindingVersion: BINDING_VERSION } } };
  const messages: Json = {
    CeleryTask: {
      name: 'CeleryTask',
      title: 'A Celery task message (protocol v2)',
      contentType: 'application/json',
      headers: { $ref: '#/components/schemas/CeleryTaskHeaders' },
      payload: { $ref: '#/components/schemas/CeleryTaskBody' },
      correlationId: { description: 'The warren task id, which is also the Celery task id', location: '$message.header#/id' },
      ...amqp,
    },
    CeleryReply: {
      name: 'CeleryReply',
      title: 'A Celery result backend reply',
      contentType: 'application/json',
      payload: { $ref: '#/components/schemas/CeleryReply' },
      correlationId: { description: 'The task id', location: '$message.payload#/task_id' },
      ...amqp,
    },
    CeleryRevoke: {
      name: 'CeleryRevoke',
      title: 'A revoke command for Celery workers',
      contentType: 'application/json',
      payload: { $ref: '#/components/schemas/CeleryRevoke' },
      ...amqp,
    },
  };
  const schemas: Json = {
    CeleryTaskHeaders: toJsonSchema(CeleryTaskHeaders),
    CeleryTaskBody: toJsonSchema(CeleryTaskBody),
    CeleryReply: toJsonSchema(CeleryReply),
    CeleryRevoke: toJsonSchema(CeleryRevoke),
  };
  return { channels, operations, messages, schemas };
}

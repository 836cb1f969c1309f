import { BINDING_VERSION, PERSISTENT, exchangeBinding, find, jsonMessage, queueChannel, toJsonSchema, type Json } from './asyncapi-bindings.js';
import { celeryAsyncApi } from './asyncapi-celery.js';
import { retryChannels } from './asyncapi-retries.js';
import { taskChannels } from './asyncapi-tasks.js';
import {
  buildTopology,
  DELIVERY_EVENT_TYPE,
  DELIVERY_JOB_TYPE,
  DeliveryEvent,
  DeliveryJob,
  EVENT_STATUSES,
  eventRoutingKey,
  REVOCATION_SYNC_TYPE,
  RevocationSync,
  TASK_EVENT_TYPE,
  TASK_MESSAGE_TYPE,
  topologySettings,
  TaskEvent,
  TaskMessage,
  type Config,
  type ExchangeSpec,
  type ProcessorDescriptor,
  type QueueSpec,
} from '../../shared/index.js';

export { toJsonSchema };

/**
 * The AsyncAPI 3.0 document of the broker side: what a worker in another language needs to serve a
 * processor. Exchanges, queues and their arguments come from `buildTopology` (what gateway and
 * worker declare), the message payloads are the TypeBox contracts themselves, so neither can drift.
 * Served at {base}/asyncapi.json and committed as docs/asyncapi.json (scripts/generate-api-docs.ts).
 */
export interface AsyncApiOptions {
  prefix: string;
  processors: readonly Pick<ProcessorDescriptor, 'name' | 'version' | 'description' | 'celery'>[];
  taskQueueMaxLength: number;
  deliveryLimit: number;
  retryDelaysMs?: readonly number[];
  deliveryRetryDelaysMs?: readonly number[];
  taskQueueTtlMs?: number;
}

export function asyncApiOptions(config: Config, processors: AsyncApiOptions['processors']): AsyncApiOptions {
  return { ...topologySettings(config), processors };
}

export function buildAsyncApi({
  prefix,
  processors,
  taskQueueMaxLength,
  deliveryLimit,
  retryDelaysMs = [],
  deliveryRetryDelaysMs = [],
  taskQueueTtlMs = 0,
}: AsyncApiOptions): Json {
  // Processors Celery workers serve have their Celery queues (gateway/docs/asyncapi-celery.ts), not warren's.
  const warrenProcessors = processors.filter((p) => !p.celery);
  const celeryQueues = processors.flatMap((p) => (p.celery ? [p.celery.queue] : []));
  const topology = buildTopology({
    prefix,
    processors: warrenProcessors.map((p) => p.name),
    taskQueueMaxLength,
    deliveryLimit,
    retryDelaysMs,
    deliveryRetryDelaysMs,
    taskQueueTtlMs,
    celeryQueues,
  });
  const celery = celeryAsyncApi(topology, processors, { prefix, taskQueueMaxLength, deliveryLimit });
  const exchange = (name: string): ExchangeSpec => find(topology.declare.exchanges, name);
  const queue = (name: string): QueueSpec => find(topology.declare.queues, name);
  const message = (name: string): Json => ({ $ref: `#/components/messages/${name}` });

  const channels: Json = {};
  const operations: Json = {};
  const retries = retryChannels(topology);
  Object.assign(channels, retries.channels);
  Object.assign(operations, retries.operations);
  const tasks = taskChannels(topology, warrenProcessors);
  Object.assign(channels, tasks.channels);
  Object.assign(operations, tasks.operations);

  channels.events = {
    address: eventRoutingKey('{status}', '{processor}'),
    title: 'Task events',
    description: `Topic exchange \`${topology.exchanges.events}\`; bind your own queue with a pattern such as \`task.#\` or \`task.*.${processors[0]?.name ?? 'echo'}\`.`,
    parameters: {
      status: { enum: EVENT_STATUSES.map((status) => status.toLowerCase()), description: 'The event status, lower case' },
      processor: { enum: processors.map((p) => p.name), description: 'The processor that ran the task' },
    },
    messages: { TaskEvent: message('TaskEvent') },
    bindings: { amqp: exchangeBinding(exchange(topology.exchanges.events)) },
  };
  channels.results = {
    ...queueChannel(queue(topology.queues.results)),
    title: 'Results',
    description:
      'Every task event and delivery outcome, for the recorder (in each gateway) that writes the task store. Events may come twice or out of order; applying them is idempotent.',
    messages: { TaskEvent: message('TaskEvent'), DeliveryEvent: message('DeliveryEvent') },
  };
  channels.deliveryJobs = {
    address: 'delivery',
    title: 'Delivery jobs (exchange)',
    description: `Direct exchange \`${topology.exchanges.deliveries}\`: the gateway's recorder publishes a job per target when a task finishes (after any started/progress notification still on its way), and started/progress jobs while it runs.`,
    messages: { DeliveryJob: message('DeliveryJob') },
    bindings: { amqp: exchangeBinding(exchange(topology.exchanges.deliveries)) },
  };
  channels.deliveries = {
    ...queueChannel(queue(topology.queues.deliveries)),
    title: 'Delivery jobs',
    description:
      `Routing key \`delivery\` on the direct exchange \`${topology.exchanges.deliveries}\`. One job is one attempt to notify a webhook or drop files into S3, FTP or the volume; ` +
      'deliverers publish a DeliveryEvent with the outcome (routing key delivery.<outcome> on the events exchange), each confirmed, then ack. ' +
      'A deliverer may instead defer a job whose API key (owner) or destination already runs as many deliveries as it may: it republishes it to a delivery retry tier, confirmed, then acks; no event, not an attempt. ' +
      'A started/progress notification (event started or progress, with expires_at) is never deferred nor retried: past expires_at, or without a free slot, it is reported SKIPPED unsent, ' +
      'because the gateway holds the final notification back only until then.',
    messages: { DeliveryJob: message('DeliveryJob') },
  };
  operations.deliver = {
    action: 'receive',
    channel: { $ref: '#/channels/deliveries' },
    summary: "A worker's deliverer makes one attempt and reports its outcome",
    messages: [{ $ref: '#/channels/deliveries/messages/DeliveryJob' }],
    bindings: { amqp: { ack: true, bindingVersion: BINDING_VERSION } },
  };
  channels.deadLetterExchange = {
    address: null,
    title: 'Dead-letter exchange',
    description:
      `Topic exchange \`${topology.exchanges.deadLetter}\`. Consumers publish what they refuse with routing key = the queue it came from; the broker ` +
      'dead-letters messages over the delivery limit with their original routing key.',
    messages: { DeadLetter: message('DeadLetter') },
    bindings: { amqp: exchangeBinding(exchange(topology.exchanges.deadLetter)) },
  };
  channels.deadLetters = {
    ...queueChannel(queue(topology.queues.deadLetters)),
    title: 'Dead letters',
    description: 'Everything dead-lettered, kept for operators: inspect and redrive from the dashboard (nothing consumes it automatically).',
    messages: { DeadLetter: message('DeadLetter') },
  };
  channels.revocations = {
    ...queueChannel(queue(topology.queues.revocations)),
    title: 'Revocations',
    description:
      'A stream of every REVOKED task event (POST task_cancel publishes one to the events exchange; the same publish reaches the recorder through the results queue). ' +
      'Each worker reads it from offset `first` on every (re)connect, appends a RevocationSync marker and runs no task until it reads its marker back; ' +
      'then it skips tasks whose id it has seen revoked and aborts their runs, acking without a result. Retention (x-max-age) bounds the replay.',
    messages: { TaskEvent: message('TaskEvent'), RevocationSync: message('RevocationSync') },
  };
  operations.followRevocations = {
    action: 'receive',
    channel: { $ref: '#/channels/revocations' },
    summary: 'Workers replay and follow cancels (x-stream-offset first, manual acks, a prefetch)',
    messages: [{ $ref: '#/channels/revocations/messages/TaskEvent' }, { $ref: '#/channels/revocations/messages/RevocationSync' }],
    bindings: { amqp: { ack: true, bindingVersion: BINDING_VERSION } },
  };
  operations.syncRevocations = {
    action: 'send',
    channel: { $ref: '#/channels/revocations' },
    summary: 'A worker marks where its replay ends (default exchange, routing key = the stream)',
    messages: [{ $ref: '#/channels/revocations/messages/RevocationSync' }],
  };
  channels.deadLetterWatch = {
    ...queueChannel(queue(topology.queues.deadLetterWatch)),
    title: 'Dead-letter watch',
    description:
      'A second copy of every dead letter, for the recorder: a task message the broker gave up on (x-death reason delivery_limit, expired or maxlen) is recorded as FAILURE with code dead_lettered_<reason>.',
    messages: { DeadLetter: message('DeadLetter') },
  };

  Object.assign(operations, {
    publishEvent: {
      action: 'send',
      channel: { $ref: '#/channels/events' },
      summary: 'A worker reports a change in a task (persistent, confirmed; message id = event id)',
      messages: [{ $ref: '#/channels/events/messages/TaskEvent' }],
      bindings: { amqp: { deliveryMode: PERSISTENT, bindingVersion: BINDING_VERSION } },
    },
    followEvents: {
      action: 'receive',
      channel: { $ref: '#/channels/events' },
      summary: 'Live listeners: each gateway binds an exclusive, auto-delete queue with task.# for Server-Sent Events and Prefer: wait',
      messages: [{ $ref: '#/channels/events/messages/TaskEvent' }],
    },
    recordEvent: {
      action: 'receive',
      channel: { $ref: '#/channels/results' },
      summary: 'The recorder applies events to the task store and acks after the commit',
      messages: [{ $ref: '#/channels/results/messages/TaskEvent' }],
      bindings: { amqp: { ack: true, bindingVersion: BINDING_VERSION } },
    },
    deadLetter: {
      action: 'send',
      channel: { $ref: '#/channels/deadLetterExchange' },
      summary: 'A consumer parks a message it cannot process, with the reason in its headers',
      messages: [{ $ref: '#/channels/deadLetterExchange/messages/DeadLetter' }],
      bindings: { amqp: { deliveryMode: PERSISTENT, bindingVersion: BINDING_VERSION } },
    },
    recordGivenUpTasks: {
      action: 'receive',
      channel: { $ref: '#/channels/deadLetterWatch' },
      summary: 'The gateway records FAILURE for task messages the broker dead-lettered (delivery limit, expiry)',
      messages: [{ $ref: '#/channels/deadLetterWatch/messages/DeadLetter' }],
      bindings: { amqp: { ack: true, bindingVersion: BINDING_VERSION } },
    },
    inspectDeadLetters: {
      action: 'receive',
      channel: { $ref: '#/channels/deadLetters' },
      summary: 'Operators read the dead letters (management UI, or a consumer of their own)',
      messages: [{ $ref: '#/channels/deadLetters/messages/DeadLetter' }],
    },
  });

  Object.assign(channels, celery.channels);
  Object.assign(operations, celery.operations);

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'warren broker contract',
      version: '1',
      description:
        `Exchanges, queues and messages under the prefix \`${prefix}\` (AMQP_PREFIX). Messages are JSON; producers and consumers both validate them, ` +
        'extra properties are allowed, and a breaking change bumps `version`. Files never travel in messages: FileRef.location points at the shared volume or S3.',
      license: { name: 'MIT' },
    },
    defaultContentType: 'application/json',
    servers: {
      broker: {
        host: '127.0.0.1:5672',
        protocol: 'amqp',
        protocolVersion: '0.9.1',
        description: 'The RabbitMQ at AMQP_URL (the default shown); quorum queues need RabbitMQ ≥ 3.8',
      },
    },
    channels,
    operations,
    components: {
      schemas: {
        TaskMessage: toJsonSchema(TaskMessage),
        TaskEvent: toJsonSchema(TaskEvent),
        DeliveryJob: toJsonSchema(DeliveryJob),
        DeliveryEvent: toJsonSchema(DeliveryEvent),
        RevocationSync: toJsonSchema(RevocationSync),
        ...celery.schemas,
      },
      messages: {
        DeliveryJob: jsonMessage('DeliveryJob', 'A delivery attempt to make', DELIVERY_JOB_TYPE),
        DeliveryEvent: jsonMessage('DeliveryEvent', 'The outcome of a delivery attempt', DELIVERY_EVENT_TYPE),
        TaskMessage: jsonMessage('TaskMessage', 'A task', TASK_MESSAGE_TYPE),
        TaskEvent: {
          ...jsonMessage('TaskEvent', 'A task event', TASK_EVENT_TYPE),
          // Also sent as the AMQP correlation_id property, so consumers can filter without parsing.
          correlationId: { description: 'The task id; also in the AMQP correlation_id property', location: '$message.payload#/task_id' },
        },
        RevocationSync: jsonMessage('RevocationSync', "Where a worker's replay of the revocations stream ends", REVOCATION_SYNC_TYPE),
        ...celery.messages,
        DeadLetter: {
          name: 'DeadLetter',
          title: 'A dead-lettered message',
          summary: 'The original body and properties, unchanged (often a message that broke its contract, so possibly not JSON)',
          headers: {
            type: 'object',
            properties: {
              'x-warren-reason': { type: 'string', maxLength: 1000, description: 'Why a consumer refused it' },
              'x-warren-queue': { type: 'string', description: 'The queue it was consumed from' },
              'x-warren-dead-lettered-at': { type: 'string', format: 'date-time' },
              'x-death': { type: 'array', description: 'Set by RabbitMQ when it dead-letters (delivery limit reached)' },
            },
          },
          payload: {},
        },
      },
    },
  };
}

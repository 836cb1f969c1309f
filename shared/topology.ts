import type { Options } from 'amqplib';

/**
 * The broker topology as data. `assertTopology` (topology-declare.ts) declares it idempotently and runs on every
 * channel (re)open, so a broker that lost its definitions (a new node, a reset) is repaired by the
 * next connection. Queue arguments are fixed at declaration: changing one (say the max length)
 * means deleting the queue or overriding it with a policy — a redeclare with different
 * arguments is refused by RabbitMQ (PRECONDITION_FAILED).
 */
export interface ExchangeSpec {
  name: string;
  type: 'direct' | 'topic' | 'fanout';
  options: Options.AssertExchange;
}

export interface QueueSpec {
  name: string;
  options: Options.AssertQueue;
  bindings: { exchange: string; pattern: string }[];
}

export interface Topology {
  /** Processor name → task queue name. */
  taskQueues: ReadonlyMap<string, string>;
  /**
   * Retry backoff, shortest first: a task published to a tier's exchange (routing key = its
   * processor) waits in the tier's queue for `delayMs`, then expires back into the tasks exchange.
   */
  retryTiers: { delayMs: number; exchange: string }[];
  /** The same for delivery jobs: a tier's queue expires a job back into the deliveries exchange. */
  deliveryRetryTiers: { delayMs: number; exchange: string }[];
  exchanges: { tasks: string; events: string; deadLetter: string; deliveries: string };
  /**
   * deadLetterWatch: a second copy of every dead letter, for the recorder to mark given-up tasks FAILURE.
   * revocations: a stream of every REVOKED event, which each worker replays on (re)connect.
   */
  queues: { results: string; deadLetters: string; deadLetterWatch: string; deliveries: string; revocations: string; celeryReplies: string };
  declare: { exchanges: ExchangeSpec[]; queues: QueueSpec[] };
  /**
   * What Celery workers serving warren processors need to exist before any of them starts (empty
   * without Celery processors): each Celery queue as Celery itself declares it — classic, durable,
   * bound on its `celery` direct exchange with the queue's name as routing key — so a task
   * published before the first worker started is kept, not dropped as unroutable; and the
   * `celery.pidbox` fanout exchange that cancels are broadcast on (gateway/celery/revoke.ts).
   * Declared with everything else, but never deleted by `deleteTopology`: they are Celery's,
   * shared with every Celery application on the broker.
   */
  celery: { exchange: string; pidbox: string; queues: readonly string[]; declare: { exchanges: ExchangeSpec[]; queues: QueueSpec[] } };
}

export interface TopologyOptions {
  prefix: string;
  processors: readonly string[];
  taskQueueMaxLength: number;
  deliveryLimit: number;
  /** Backoff tiers for retries: one delay queue per value (RETRY_DELAYS_MS). */
  retryDelaysMs?: readonly number[];
  /** Backoff tiers for delivery retries (DELIVERY_RETRY_DELAYS_MS). */
  deliveryRetryDelaysMs?: readonly number[];
  /** How long a task may wait in its processor's queue before it expires, unstarted (TASK_QUEUE_TTL_MS); 0 or absent: forever. */
  taskQueueTtlMs?: number;
  /**
   * The queues of processors served by Celery workers (descriptors with `celery`). Such processors
   * are not in `processors`: warren declares no quorum queue of its own for them.
   */
  celeryQueues?: readonly string[];
}

/** Celery's defaults: `task_default_exchange` and its control (`celery control`) mailbox, kombu's `<control_exchange>.pidbox`. */
export const CELERY_EXCHANGE = 'celery';
export const CELERY_PIDBOX_EXCHANGE = 'celery.pidbox';

/**
 * How long the revocations stream keeps a cancel, and so how long a worker (re)started later still
 * skips a revoked task that is waiting in a queue. Fixed, not configured: a stream's arguments
 * cannot change once it is declared (a policy can override it on a live broker).
 */
export const REVOCATION_RETENTION_MS = 7 * 24 * 3600 * 1000;

export function buildTopology({
  prefix,
  processors,
  taskQueueMaxLength,
  deliveryLimit,
  retryDelaysMs = [],
  deliveryRetryDelaysMs = [],
  taskQueueTtlMs = 0,
  celeryQueues = [],
}: TopologyOptions): Topology {
  const exchanges = { tasks: `${prefix}.tasks`, events: `${prefix}.events`, deadLetter: `${prefix}.dlx`, deliveries: `${prefix}.deliveries` };
  const queues = {
    results: `${prefix}.results`,
    deadLetters: `${prefix}.dead-letters`,
    deadLetterWatch: `${prefix}.dead-letter-watch`,
    deliveries: `${prefix}.deliveries`,
    revocations: `${prefix}.revocations`,
    celeryReplies: `${prefix}.celery-replies`,
  };

  const quorum = (args: Record<string, unknown>): Options.AssertQueue => ({
    durable: true,
    arguments: { 'x-queue-type': 'quorum', ...args },
  });

  /** What every queue of work (tasks, deliveries) has: a poison limit, dead-lettering, a bound. */
  const workQueueArgs = {
    'x-delivery-limit': deliveryLimit,
    'x-dead-letter-exchange': exchanges.deadLetter,
    // At-least-once dead-lettering: a poison message is never dropped on its way to the DLQ.
    // It requires reject-publish, which is also the backpressure we want: a full queue makes the
    // publisher's confirm a nack, and the gateway answers 503.
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
    'x-max-length': taskQueueMaxLength,
  };

  const taskQueues = new Map(processors.map((name) => [name, `${prefix}.tasks.${name}`]));
  const taskQueueSpecs: QueueSpec[] = [...taskQueues].map(([processor, queue]) => ({
    name: queue,
    options: quorum({
      ...workQueueArgs,
      // A task nobody started in time is dead-lettered as expired, and the gateway's dead-letter
      // watch records it FAILURE (dead_lettered_expired) rather than leaving it PENDING forever.
      ...(taskQueueTtlMs > 0 ? { 'x-message-ttl': taskQueueTtlMs } : {}),
    }),
    bindings: [{ exchange: exchanges.tasks, pattern: processor }],
  }));

  // Waiting is the broker's job (message TTL), not a sleeping consumer's.
  const tiersOf = (delays: readonly number[], name: string) =>
    [...new Set(delays)].sort((a, b) => a - b).map((delayMs) => ({ delayMs, exchange: `${prefix}.${name}.${delayMs}ms` }));
  const retryTiers = tiersOf(retryDelaysMs, 'retry');
  const deliveryRetryTiers = tiersOf(deliveryRetryDelaysMs, 'delivery-retry');
  const tierSpecs = (tiers: { delayMs: number; exchange: string }[], backInto: string) => ({
    exchanges: tiers.map((tier): ExchangeSpec => ({ name: tier.exchange, type: 'topic', options: { durable: true } })),
    queues: tiers.map((tier): QueueSpec => ({
      name: tier.exchange,
      options: quorum({
        'x-message-ttl': tier.delayMs,
        'x-dead-letter-exchange': backInto,
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
        'x-max-length': taskQueueMaxLength,
      }),
      bindings: [{ exchange: tier.exchange, pattern: '#' }],
    })),
  });
  const { exchanges: retryExchanges, queues: retryQueues } = tierSpecs(retryTiers, exchanges.tasks);
  const deliveryTiers = tierSpecs(deliveryRetryTiers, exchanges.deliveries);

  const uniqueCeleryQueues = [...new Set(celeryQueues)];
  // Where Celery workers' rpc:// result backend sends each state change of a warren task (the
  // task message's reply_to); the gateways' Celery bridge consumes it. Quorum, like the results
  // queue it feeds, and only there when some processor is Celery's.
  const celeryReplySpecs: QueueSpec[] =
    uniqueCeleryQueues.length === 0
      ? []
      : [
          {
            name: queues.celeryReplies,
            options: quorum({
              'x-delivery-limit': deliveryLimit,
              'x-dead-letter-exchange': exchanges.deadLetter,
              'x-dead-letter-strategy': 'at-least-once',
              'x-overflow': 'reject-publish',
            }),
            bindings: [],
          },
        ];
  const celery = {
    exchange: CELERY_EXCHANGE,
    pidbox: CELERY_PIDBOX_EXCHANGE,
    queues: uniqueCeleryQueues,
    declare:
      uniqueCeleryQueues.length === 0
        ? { exchanges: [], queues: [] }
        : {
            // kombu's own declarations, argument for argument: a worker declaring the same later must not be refused as inequivalent.
            exchanges: [
              { name: CELERY_EXCHANGE, type: 'direct', options: { durable: true } } satisfies ExchangeSpec,
              { name: CELERY_PIDBOX_EXCHANGE, type: 'fanout', options: { durable: false } } satisfies ExchangeSpec,
            ],
            queues: uniqueCeleryQueues.map((name): QueueSpec => ({
              name,
              options: { durable: true },
              bindings: [{ exchange: CELERY_EXCHANGE, pattern: name }],
            })),
          },
  };

  return {
    taskQueues,
    retryTiers,
    deliveryRetryTiers,
    exchanges,
    queues,
    celery,
    declare: {
      exchanges: [
        ...retryExchanges,
        ...deliveryTiers.exchanges,
        { name: exchanges.tasks, type: 'direct', options: { durable: true } },
        { name: exchanges.deliveries, type: 'direct', options: { durable: true } },
        { name: exchanges.events, type: 'topic', options: { durable: true } },
        { name: exchanges.deadLetter, type: 'topic', options: { durable: true } },
      ],
      queues: [
        ...taskQueueSpecs,
        ...retryQueues,
        ...deliveryTiers.queues,
        ...celeryReplySpecs,
        {
          // Delivery jobs (webhook, S3, FTP, volume), consumed by workers' deliverers — apart from
          // the processors' queues, so a dead endpoint never blocks model work.
          name: queues.deliveries,
          options: quorum(workQueueArgs),
          bindings: [{ exchange: exchanges.deliveries, pattern: 'delivery' }],
        },
        {
          name: queues.results,
          options: quorum({
            'x-delivery-limit': deliveryLimit,
            'x-dead-letter-exchange': exchanges.deadLetter,
            'x-dead-letter-strategy': 'at-least-once',
            'x-overflow': 'reject-publish',
          }),
          bindings: [
            { exchange: exchanges.events, pattern: 'task.#' },
            { exchange: exchanges.events, pattern: 'delivery.#' },
          ],
        },
        {
          // Cancels, for workers. A stream, not a queue: every reader sees every message (acks do
          // not remove them; the retention does), so a worker that starts after a cancel replays it
          // and still skips the task. Small segments, so the age limit actually trims.
          name: queues.revocations,
          options: {
            durable: true,
            arguments: { 'x-queue-type': 'stream', 'x-max-age': `${REVOCATION_RETENTION_MS / 3_600_000}h`, 'x-stream-max-segment-size-bytes': 1_000_000 },
          },
          bindings: [{ exchange: exchanges.events, pattern: 'task.revoked.#' }],
        },
        {
          name: queues.deadLetters,
          options: quorum({}),
          bindings: [{ exchange: exchanges.deadLetter, pattern: '#' }],
        },
        {
          // The dead-letter queue is for people (inspect, redrive); this copy is for the recorder,
          // so a task the broker gave up on (delivery limit, expiry) does not stay STARTED forever.
          name: queues.deadLetterWatch,
          options: quorum({ 'x-delivery-limit': deliveryLimit }),
          bindings: [{ exchange: exchanges.deadLetter, pattern: '#' }],
        },
      ],
    },
  };
}

/** The configuration a topology is built from: what every process declares and the AsyncAPI document describes. */
export interface TopologyConfig {
  amqpPrefix: string;
  taskQueueMaxLength: number;
  deliveryLimit: number;
  retryDelaysMs: readonly number[];
  deliveryRetryDelaysMs: readonly number[];
  taskQueueTtlMs: number;
}

/** `buildTopology`'s settings from the configuration, processors aside. */
export function topologySettings(config: TopologyConfig) {
  return {
    prefix: config.amqpPrefix,
    taskQueueMaxLength: config.taskQueueMaxLength,
    deliveryLimit: config.deliveryLimit,
    retryDelaysMs: config.retryDelaysMs,
    deliveryRetryDelaysMs: config.deliveryRetryDelaysMs,
    taskQueueTtlMs: config.taskQueueTtlMs,
  };
}

/** The topology a process with this configuration declares, for these processors (and these Celery queues). */
export function topologyFromConfig(config: TopologyConfig, processors: readonly string[], celeryQueues: readonly string[] = []): Topology {
  return buildTopology({ ...topologySettings(config), processors, celeryQueues });
}

/** Routing key of a task event: `task.<status>.<processor>`, so live listeners can filter. */
export function eventRoutingKey(status: string, processor: string): string {
  return `task.${status.toLowerCase()}.${processor}`;
}

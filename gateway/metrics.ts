import type { Request, RequestHandler, Response } from 'express';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics, isTerminal, TASK_SECONDS_BUCKETS } from '../shared/index.js';
import type { TaskRecord } from './store/index.js';

/**
 * The gateway's Prometheus metrics. Each gateway gets its own registry rather than prom-client's
 * global one: tests build many apps in one process, and a global registry would refuse the second
 * set of names. Task counters count what this gateway's recorder applied; replicas compete on the
 * results queue, so summing over gateways gives the totals.
 */

/** HTTP answers are fast, except uploads of large files and `Prefer: wait` polls. */
const HTTP_SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Why a submit was answered 503. */
export type RejectReason = 'broker_unavailable' | 'publish_unconfirmed';
const REJECT_REASONS: readonly RejectReason[] = ['broker_unavailable', 'publish_unconfirmed'];

export interface GatewayMetrics {
  registry: Registry;
  tasksSubmitted: Counter<'processor'>;
  tasksRejected: Counter<'reason'>;
  tasksFinished: Counter<'processor' | 'status'>;
  queueWait: Histogram<'processor'>;
  runTime: Histogram<'processor'>;
  endToEnd: Histogram<'processor'>;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  /** Store calls that met an outage (unavailable) or a full disk (full). */
  storeFaults: Counter<'kind'>;
  /** Events the recorder holds, unacked, while the store is unavailable (task events, delivery reports). */
  recorderHeldEvents: Gauge<'kind'>;
  /** Tasks the stall check recorded FAILURE (stalled): their messages were lost. */
  tasksStalled: Counter<'processor'>;
  /** Count and time a task the recorder just made terminal (call only for applied events). */
  taskFinished(record: TaskRecord): void;
}

export interface GatewayMetricsOptions {
  /** Known processors: their series start at 0, so rate() works from the first scrape. */
  processors?: readonly string[];
  /** Off in unit tests that build many registries: the default collectors hold timers. */
  defaultMetrics?: boolean;
}

export function createGatewayMetrics({ processors = [], defaultMetrics = true }: GatewayMetricsOptions = {}): GatewayMetrics {
  const registry = new Registry();
  if (defaultMetrics) collectProcessMetrics(registry);
  const registers = [registry];

  const tasksSubmitted = new Counter({
    name: 'warren_tasks_submitted_total',
    help: 'Tasks accepted (the broker confirmed the publish and the client got 202).',
    labelNames: ['processor'] as const,
    registers,
  });
  const tasksRejected = new Counter({
    name: 'warren_tasks_rejected_total',
    help: 'Submits answered 503 because the task could not be queued or its files stored, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const tasksFinished = new Counter({
    name: 'warren_tasks_finished_total',
    help: 'Tasks this gateway recorded in a terminal state (SUCCESS, FAILURE, REVOKED).',
    labelNames: ['processor', 'status'] as const,
    registers,
  });
  const taskHistogram = (name: string, help: string): Histogram<'processor'> =>
    new Histogram({ name, help, labelNames: ['processor'] as const, buckets: [...TASK_SECONDS_BUCKETS], registers });
  const queueWait = taskHistogram('warren_task_queue_wait_seconds', 'From submit to a worker starting the task, for finished tasks.');
  const runTime = taskHistogram('warren_task_run_seconds', 'From a worker starting the task to its terminal event.');
  const endToEnd = taskHistogram('warren_task_end_to_end_seconds', 'From submit to the terminal event.');

  const httpRequests = new Counter({
    name: 'warren_http_requests_total',
    help: 'HTTP requests answered, by route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'warren_http_request_duration_seconds',
    help: 'Time from a request arriving to its answer being sent, by route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: HTTP_SECONDS_BUCKETS,
    registers,
  });

  const storeFaults = new Counter({
    name: 'warren_store_faults_total',
    help: 'Task store calls that failed because the store was unavailable or its disk full, by kind.',
    labelNames: ['kind'] as const,
    registers,
  });
  const recorderHeldEvents = new Gauge({
    name: 'warren_recorder_held_events',
    help: 'Events the recorder holds unacked while the task store is unavailable; they are applied once it is back.',
    labelNames: ['kind'] as const,
    registers,
  });
  const tasksStalled = new Counter({
    name: 'warren_tasks_stalled_total',
    help: 'Tasks recorded FAILURE (stalled) because nothing was heard of them for longer than any deadline allows: their messages were lost.',
    labelNames: ['processor'] as const,
    registers,
  });
  for (const kind of ['unavailable', 'full']) storeFaults.labels(kind).inc(0);
  for (const kind of ['task', 'delivery']) recorderHeldEvents.labels(kind).set(0);

  for (const processor of processors) {
    tasksSubmitted.labels(processor).inc(0);
    tasksStalled.labels(processor).inc(0);
    for (const status of ['SUCCESS', 'FAILURE'] as const) tasksFinished.labels(processor, status).inc(0);
  }
  for (const reason of REJECT_REASONS) tasksRejected.labels(reason).inc(0);

  const taskFinished = (record: TaskRecord): void => {
    if (!isTerminal(record.status)) return;
    const { processor, createdAt, startedAt, finishedAt } = record;
    tasksFinished.labels(processor, record.status).inc();
    if (finishedAt === null) return;
    // Event times come from worker clocks; a skewed clock must not produce negative observations.
    const seconds = (from: number, to: number): number => Math.max(0, to - from) / 1000;
    endToEnd.labels(processor).observe(seconds(createdAt, finishedAt));
    // A task revoked while still queued never started: it has no queue wait or run time.
    if (startedAt === null) return;
    queueWait.labels(processor).observe(seconds(createdAt, startedAt));
    runTime.labels(processor).observe(seconds(startedAt, finishedAt));
  };

  return {
    registry,
    tasksSubmitted,
    tasksRejected,
    tasksFinished,
    queueWait,
    runTime,
    endToEnd,
    httpRequests,
    httpDuration,
    storeFaults,
    recorderHeldEvents,
    tasksStalled,
    taskFinished,
  };
}

/** Marks requests a middleware (not a route) answers, e.g. static files, with a fixed route label. */
export function labelRoute(route: string): RequestHandler {
  return (_req, res, next) => {
    res.locals.metricsRoute = route;
    next();
  };
}

/**
 * The route label: the pattern of the Express route that handled the request (`/task_status/:id`),
 * never the URL — ids in labels would make a new series per task. Express keeps `req.route` after a
 * handler throws, so errors answered by the error handler keep their route; a request no route
 * matched is `unmatched`.
 */
export function routeLabel(req: Request, res: Response): string {
  const explicit: unknown = res.locals.metricsRoute;
  if (typeof explicit === 'string') return explicit;
  const pattern: unknown = (req.route as { path?: unknown } | undefined)?.path;
  return typeof pattern === 'string' ? pattern : 'unmatched';
}

/** Counts and times every request by method, route pattern and status. Mount it first. */
export function httpMetrics(metrics: Pick<GatewayMetrics, 'httpRequests' | 'httpDuration'>): RequestHandler {
  return (req, res, next) => {
    const began = process.hrtime.bigint();
    let done = false;
    const record = (): void => {
      if (done) return;
      done = true;
      const route = routeLabel(req, res);
      // A client that hung up before the answer was sent has no real status.
      const status = res.writableFinished ? String(res.statusCode) : 'aborted';
      metrics.httpRequests.labels(req.method, route, status).inc();
      metrics.httpDuration.labels(req.method, route).observe(Number(process.hrtime.bigint() - began) / 1e9);
    };
    res.once('finish', record);
    res.once('close', record);
    next();
  };
}

/** GET /metrics in Prometheus' text format. */
export function metricsEndpoint(registry: Registry): RequestHandler {
  return async (_req, res) => {
    const body = await registry.metrics();
    res.setHeader('Cache-Control', 'no-store');
    res.type(registry.contentType).send(body);
  };
}

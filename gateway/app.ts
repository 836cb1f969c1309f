import { fileURLToPath } from 'node:url';
import express, { Router, type Express } from 'express';
import { createUrlGuard, type Broker, type Config, type Logger, type ProcessorDescriptor } from '../shared/index.js';
import type { StoreHealth, TaskStore } from './store/index.js';
import { accessLog } from './http/access-log.js';
import { securityHeaders } from './http/security-headers.js';
import { authenticate, rateLimiter, requireAdmin } from './http/auth.js';
import { refuseCrossSite } from './http/cross-site.js';
import { errorHandler, HttpError, notFound } from './http/http-errors.js';
import { httpMetrics, labelRoute, metricsEndpoint, type GatewayMetrics } from './metrics.js';
import { apiDocumentRoutes } from './docs/openapi.js';
import type { CatalogEntry, JsonSchemaObject } from './pages/catalog-entry.js';
import { renderProcessorFields, renderUploadPage } from './pages/upload-page.js';
import { renderErrorPage } from './pages/error-page.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { submitRoutes } from './routes/submit.js';
import { liveRoutes } from './routes/live.js';
import { taskRoutes } from './routes/tasks.js';
import { taskListRoutes } from './routes/task-list.js';
import { taskInputRoutes } from './routes/task-inputs.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { cancelRoutes } from './routes/cancel.js';
import type { LiveEvents } from './tasks/live-events.js';
import { SubmissionParser } from './tasks/submission.js';
import type { ConfirmationLog } from './background/task-outbox.js';
import type { UploadStore } from './uploads/store.js';
import { workerCensus, type WorkerCensus } from './tasks/worker-census.js';
import { taskDispatch, type TaskDispatch } from './celery/dispatch.js';
import { linksFor } from './links.js';

export interface GatewayDeps {
  config: Config;
  /** openStore's store says whether writes are failing (readiness); a bare TaskStore is taken as healthy. */
  store: TaskStore & Partial<StoreHealth>;
  broker: Broker;
  processors: readonly ProcessorDescriptor[];
  logger: Logger;
  /** Task events as they happen, for SSE and `Prefer: wait`. */
  live: LiveEvents;
  /** This gateway's Prometheus registry and instruments (GET /metrics). */
  metrics: GatewayMetrics;
  /** Where accepted uploads go (UPLOAD_STORE); main.ts builds it and closes it on shutdown. */
  uploads: UploadStore;
  /** Notes confirmed publishes for the task outbox; main.ts flushes it on shutdown. */
  confirmations?: ConfirmationLog;
  /** Who serves each processor now (default: counted from the broker). */
  workers?: WorkerCensus;
  /** How accepted tasks are published (default: to each processor's warren or Celery queue); main.ts shares one with the task outbox. */
  dispatch?: TaskDispatch;
}

const PUBLIC_DIR = fileURLToPath(new URL('./public', import.meta.url));

/** Builds the Express app. No side effects: it neither listens nor connects (main.ts does). */
export function createGateway({ config, store, broker, processors, logger, live, metrics, uploads, confirmations, workers, dispatch }: GatewayDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // No ETags: the API's answers are no-store, and hashing every body cost CPU on every poll.
  // (Static files get theirs from express.static.)
  app.set('etag', false);
  // First, so their clocks include everything after them and they see every answer, errors too.
  app.use(accessLog(logger, linksFor(config.basePath)));
  app.use(httpMetrics(metrics));
  app.use(securityHeaders());

  const parser = new SubmissionParser(processors, {
    defaultProcessor: config.defaultProcessor,
    maxFieldBytes: config.maxFieldBytes,
    maxFields: config.maxFields,
  });
  const links = linksFor(config.basePath, config.publicUrl);

  const api = Router();
  // First: every change on every route, open or not, signed in or anonymous (gateway/http/cross-site.ts).
  api.use(refuseCrossSite({ publicUrl: config.publicUrl }));
  api.get('/echo', (_req, res) => {
    res.json({ status: 'ok', service: 'warren' });
  });
  // Ready means able to accept work: the broker takes messages and the store takes writes.
  api.get('/health/ready', (_req, res) => {
    const brokerProblem = broker.problem();
    const storeProblem = store.problem?.();
    const problem = brokerProblem ?? (storeProblem === undefined ? undefined : 'the task store is unavailable or full');
    res.status(problem ? 503 : 200).json(problem ? { ready: false, problem } : { ready: true });
  });
  // Discovery: what each processor takes, as JSON Schema, so clients and the form can build inputs.
  const catalog: CatalogEntry[] = processors.map(({ name, version, description, fields, files }) => ({
    name,
    version,
    description,
    fields: JSON.parse(JSON.stringify(fields)) as JsonSchemaObject,
    files: files ? { ...files, maxBytes: Math.min(files.maxBytes ?? config.maxUploadBytes, config.maxUploadBytes) } : null,
  }));
  const census = workers ?? workerCensus(broker, (name) => processors.find((p) => p.name === name)?.celery?.queue ?? broker.topology.taskQueues.get(name));
  api.get('/processors', async (_req, res) => {
    const counts = await Promise.all(catalog.map((entry) => census.workers(entry.name)));
    res.json({ default: config.defaultProcessor, processors: catalog.map((entry, index) => ({ ...entry, workers: counts[index] })) });
  });
  // One renderer for the fields: the page's script fetches this fragment rather than rebuilding
  // the fields from the schema itself.
  api.get('/upload/fields', (req, res) => {
    const entry = catalog.find((p) => p.name === req.query.processor);
    if (!entry) throw new HttpError(404, 'unknown_processor', 'no such processor');
    res.type('html').send(renderProcessorFields(entry));
  });
  api.use('/static', labelRoute('/static'), express.static(PUBLIC_DIR, { index: false, maxAge: '1h' }));
  api.use(apiDocumentRoutes({ config, processors }));

  // Everything above is open (probes, discovery, assets, API docs); everything below needs a key
  // when API_KEYS is set. The form page too: asking there makes a browser sign in once, and then
  // send the key with the form and the page's own requests.
  api.use(authenticate({ keys: config.apiKeys, adminKeys: config.adminKeys, allowAnonymous: config.allowAnonymous }));
  const limiter = rateLimiter(config.rateLimit, config.rateLimitWindowSeconds);
  if (limiter) api.use(limiter);
  api.get('/upload', (req, res) => {
    const selected = typeof req.query.processor === 'string' ? req.query.processor : config.defaultProcessor;
    res.type('html').send(renderUploadPage({ links, processors: catalog, selected }));
  });
  api.use(
    submitRoutes({
      links,
      ...(confirmations ? { confirmations } : {}),
      idempotencyTtlMs: config.idempotencyTtlSeconds * 1000,
      markRetryMs: config.taskSweepGraceMs,
      live,
      maxWaitSeconds: config.maxWaitSeconds,
      dataDir: config.dataDir,
      uploads,
      metrics,
      store,
      broker,
      dispatch: dispatch ?? taskDispatch({ broker, processors, dataDir: config.dataDir, queueTtlMs: config.taskQueueTtlMs }),
      parser,
      logger,
      targets: {
        webhooksEnabled: config.webhookSecret !== undefined,
        s3Destinations: Object.keys(config.s3Destinations),
        ftpDestinations: Object.keys(config.ftpDestinations),
        guard: createUrlGuard(config.webhookAllowlist),
      },
      limits: {
        minFreeDiskBytes: config.minFreeDiskBytes,
        maxBodyBytes: config.maxBodyBytes,
        maxFieldBytes: config.maxFieldBytes,
        maxFields: config.maxFields,
        maxUploadBytes: config.maxUploadBytes,
        maxUploadTotalBytes: config.maxUploadTotalBytes,
        maxFiles: config.maxFiles,
      },
    }),
  );
  api.use(taskRoutes({ links, store, dataDir: config.dataDir, live, maxWaitSeconds: config.maxWaitSeconds, workers: census }));
  api.use(taskListRoutes({ links, store, processors: processors.map((p) => p.name) }));
  api.use(taskInputRoutes({ store, dataDir: config.dataDir }));
  api.use(deliveryRoutes({ links, store, broker, logger }));
  api.use(cancelRoutes({ links, store, broker, live, logger, celeryProcessors: new Set(processors.flatMap((p) => (p.celery ? [p.name] : []))) }));
  api.use(liveRoutes({ links, store, live }));
  if (config.dashboard) api.use(['/dashboard', '/dashboard.json'], requireAdmin);
  if (config.dashboard) api.use(dashboardRoutes({ links, store, broker, processors: processors.map((p) => p.name), logger }));

  // At the root, not under BASE_PATH: where Prometheus looks by convention.
  app.get('/metrics', metricsEndpoint(metrics.registry));
  app.use(config.basePath || '/', api);
  app.use(notFound);
  app.use(errorHandler(logger, (error) => renderErrorPage({ links, ...error })));
  return app;
}

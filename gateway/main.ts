import type { AddressInfo } from 'node:net';
import {
  BUILTIN_DESCRIPTORS,
  brokerFromConfig,
  describeDestination,
  loadProcessorDescriptors,
  mergeProcessors,
  redactUrl,
  runService,
} from '../shared/index.js';
import { openStore } from './store/index.js';
import { createGateway } from './app.js';
import { answerClientError } from './http/client-errors.js';
import { LiveEvents } from './tasks/live-events.js';
import { createExpressServer } from './http/express-server.js';
import { createGatewayMetrics } from './metrics.js';
import { startDeadLetterWatch } from './background/dead-letter-watch.js';
import { startRecorder } from './background/recorder.js';
import { startStallCheck } from './background/stall-check.js';
import { startDeliverySweeper } from './background/delivery-sweeper.js';
import { startJanitor } from './background/janitor.js';
import { createConfirmationLog, startTaskSweeper } from './background/task-outbox.js';
import { createNotifier, NOTICE_TTL_MS } from './background/notifier.js';
import { createNoticeMetrics } from './background/notice-metrics.js';
import { uploadStoreFor } from './uploads/store.js';
import { startCeleryBridge } from './celery/bridge.js';
import { taskDispatch } from './celery/dispatch.js';
import { linksFor } from './links.js';

/** The gateway process: the only place that listens and connects. */
await runService('gateway', async (config, logger) => {
  // Your own processors' descriptors, so submissions to them are validated here too.
  const processors = mergeProcessors(BUILTIN_DESCRIPTORS, config.processorsDir ? await loadProcessorDescriptors(config.processorsDir) : []);
  // A store that cannot be opened (PostgreSQL down, bad credentials) stops the gateway: without
  // it there is nothing to record into or answer from. A supervisor or compose restarts it.
  const metrics = createGatewayMetrics({ processors: processors.map((p) => p.name) });
  const store = await openStore(config.storeUrl, {
    poolSize: config.storePoolSize,
    timeoutMs: config.storeTimeoutMs,
    logger,
    onFault: (kind) => metrics.storeFaults.labels(kind).inc(),
  }).catch((err: unknown) => {
    logger.fatal({ err }, 'could not open the task store');
    process.exit(1);
  });
  logger.info({ store: redactUrl(config.storeUrl) }, 'store ready');
  // A processor Celery workers serve has its Celery queue instead of a warren queue of its own.
  const celeryQueues = processors.flatMap((p) => (p.celery ? [p.celery.queue] : []));
  const broker = brokerFromConfig(
    config,
    'gateway',
    processors.filter((p) => !p.celery).map((p) => p.name),
    logger,
    celeryQueues,
  );
  const live = new LiveEvents(store, logger);
  live.start(broker);
  const links = linksFor(config.basePath, config.publicUrl);
  const onFinished = (taskId: string): void => live.finished(taskId);
  const deadLetterWatch = startDeadLetterWatch({ broker, store, logger, links, metrics, onFinished });
  const notifier = createNotifier({
    broker,
    store,
    logger,
    links,
    progressIntervalMs: config.webhookProgressIntervalMs,
    // The worker's attempt takes at most its connect and request timeouts; 5 s more for clocks.
    window: { ttlMs: NOTICE_TTL_MS, attemptMs: config.webhookConnectTimeoutMs + config.webhookTimeoutMs + 5000 },
    metrics: createNoticeMetrics(metrics.registry),
  });
  const celeryBridge = celeryQueues.length > 0 ? startCeleryBridge({ broker, store, logger, maxResultBytes: config.maxResultBytes }) : undefined;
  const recorder = startRecorder({ broker, store, logger, prefetch: config.recorderPrefetch, metrics, links, notifier, onFinished });
  const stallCheck = startStallCheck({
    broker,
    store,
    logger,
    links,
    processors,
    defaultTimeoutMs: config.taskTimeoutMs,
    queueTtlMs: config.taskQueueTtlMs,
    retryDelaysMs: config.retryDelaysMs,
    graceMs: config.stallGraceMs,
    metrics,
    onFinished,
  });
  const sweeper = startDeliverySweeper({ broker, store, logger, links, graceMs: config.deliverySweepGraceMs });
  const uploads = uploadStoreFor(config.uploadStore, config.dataDir, logger);
  const janitor = startJanitor({
    store,
    uploads,
    dataDir: config.dataDir,
    logger,
    resultTtlMs: config.resultTtlSeconds * 1000,
    intervalMs: config.janitorIntervalMs,
  });
  if (config.uploadStore.kind === 's3') logger.info({ uploadStore: describeDestination(config.uploadStore.destination) }, 'uploads live in S3');
  const confirmations = createConfirmationLog(store, logger);
  const dispatch = taskDispatch({ broker, processors, dataDir: config.dataDir, queueTtlMs: config.taskQueueTtlMs });
  const taskSweeper = startTaskSweeper({ broker, store, logger, graceMs: config.taskSweepGraceMs, dispatch });
  const app = createGateway({ config, store, broker, processors, logger, live, metrics, uploads, confirmations, dispatch });

  const server = createExpressServer(app).listen(config.port, config.host);
  server.keepAliveTimeout = 65_000;
  server.on('clientError', answerClientError);
  server.on('error', (err) => {
    logger.fatal({ err }, 'gateway could not listen');
    process.exit(1);
  });
  server.on('listening', () => {
    const { port } = server.address() as AddressInfo;
    logger.info({ host: config.host, port, basePath: config.basePath }, 'gateway listening');
  });
  broker.ready(15_000).catch(() => logger.warn('broker still unreachable; submits answer 503 until it is back'));

  return async () => {
    // Stop intake and let in-flight requests finish (live streams and waits end at once), then the
    // recorder's batches, then release.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await live.stop();
    await closed;
    await celeryBridge?.stop();
    await recorder.stop();
    await sweeper.stop();
    await janitor.stop();
    await taskSweeper.stop();
    await stallCheck.stop();
    await confirmations.flush();
    await deadLetterWatch.stop();
    await broker.close();
    uploads.close();
    await store.close();
  };
});

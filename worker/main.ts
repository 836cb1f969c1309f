import os from 'node:os';
import { brokerFromConfig, createUrlGuard, describeDestination, runService } from '../shared/index.js';
import { createWorkerMetrics, startMetricsServer, type MetricsServer } from './metrics.js';
import { selectProcessors } from './processors/registry.js';
import { startRunner } from './runner.js';
import { startRevocationWatch } from './revocations.js';
import { createInputFetcher } from './inputs.js';
import { startDeliveryRunner } from './delivery-runner.js';
import { createDeliveryMetrics } from './delivery-metrics.js';
import { fileDeliverers } from './deliverers/index.js';
import { createWebhookDeliverer } from './deliverers/webhook.js';

/** The worker process: connects and serves its processors until told to stop. */
await runService('worker', async (config, logger) => {
  const processors = await selectProcessors(config);
  const metrics = createWorkerMetrics();
  let metricsServer: MetricsServer | undefined;
  // /health/ready says 'starting' until the broker connection exists, then asks it.
  let brokerProblem = (): string | undefined => 'starting';
  if (config.metricsPort > 0) {
    // A taken port costs the metrics, not the work: several workers on one host need their own
    // METRICS_PORT, and the log says so rather than the worker refusing to serve.
    metricsServer = await startMetricsServer(metrics.registry, config.metricsPort, config.metricsHost, () => brokerProblem()).catch((err: unknown) => {
      logger.error(
        { err: err instanceof Error ? err.message : String(err), port: config.metricsPort },
        'metrics endpoint could not listen; set METRICS_PORT (0 turns it off)',
      );
      return undefined;
    });
    if (metricsServer) logger.info({ host: config.metricsHost, port: metricsServer.port }, 'metrics listening');
  }
  const broker = brokerFromConfig(
    config,
    'worker',
    processors.map((p) => p.name),
    logger,
  );
  brokerProblem = () => broker.problem();
  const revocations = startRevocationWatch({ broker, logger, workerId: `${os.hostname()}:${process.pid}` });
  const inputs = createInputFetcher(config.dataDir, config.uploadStore);
  if (config.uploadStore.kind === 's3') logger.info({ uploadStore: describeDestination(config.uploadStore.destination) }, 'uploads live in S3');
  const runner = await startRunner({
    broker,
    processors,
    concurrency: config.workerConcurrency,
    processorConcurrency: config.processorConcurrency,
    logger,
    dataDir: config.dataDir,
    inputs,
    defaultTimeoutMs: config.taskTimeoutMs,
    startedReportDelayMs: config.startedReportDelayMs,
    defaultMaxAttempts: config.taskMaxAttempts,
    metrics,
    revocations,
    maxResultBytes: config.maxResultBytes,
  });
  const deliveries = config.workerDeliveries
    ? startDeliveryRunner({
        broker,
        limits: {
          concurrency: config.deliveryConcurrency,
          perKey: config.deliveryKeyConcurrency,
          perDestination: config.deliveryDestinationConcurrency,
          deferAfterMs: config.deliveryDeferAfterMs,
        },
        logger,
        dataDir: config.dataDir,
        maxAttempts: config.deliveryMaxAttempts,
        webhook: config.webhookSecret
          ? createWebhookDeliverer({
              secret: config.webhookSecret,
              timeoutMs: config.webhookTimeoutMs,
              connectTimeoutMs: config.webhookConnectTimeoutMs,
              guard: createUrlGuard(config.webhookAllowlist),
            })
          : undefined,
        files: fileDeliverers(config),
        metrics: createDeliveryMetrics(metrics.registry),
      })
    : undefined;
  broker.ready(15_000).catch(() => logger.warn('broker still unreachable; will keep retrying'));

  return async () => {
    await Promise.all([runner.stop(config.shutdownGraceMs), deliveries?.stop(config.shutdownGraceMs)]);
    await revocations.stop();
    await broker.close();
    inputs.close();
    await metricsServer?.close();
  };
});

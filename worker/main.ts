import { Broker, ConfigError, buildTopology, createLogger, loadConfig, type Config } from '../shared/index.js';
import { selectProcessors } from './processors/registry.js';
import { startRunner } from './runner.js';

/** The worker process: connects, serves its processors, and drains on SIGTERM/SIGINT. */
async function main(config: Config): Promise<void> {
  const logger = createLogger('worker', config.logLevel);
  const processors = selectProcessors(config.workerProcessors);
  const broker = new Broker({
    urls: config.amqpUrls,
    role: 'worker',
    logger,
    publishTimeoutMs: config.publishTimeoutMs,
    topology: buildTopology({
      prefix: config.amqpPrefix,
      processors: processors.map((p) => p.name),
      taskQueueMaxLength: config.taskQueueMaxLength,
      deliveryLimit: config.deliveryLimit,
    }),
  });
  const runner = startRunner({ broker, processors, concurrency: config.workerConcurrency, logger });
  broker.ready(15_000).catch(() => logger.warn('broker still unreachable; will keep retrying'));

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'worker shutting down');
    void (async () => {
      await runner.stop(config.shutdownGraceMs);
      await broker.close();
      logger.info('worker stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

try {
  await main(loadConfig());
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`warren worker: bad configuration: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

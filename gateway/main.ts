import type { AddressInfo } from 'node:net';
import {
  BUILTIN_DESCRIPTORS,
  Broker,
  ConfigError,
  buildTopology,
  createLogger,
  loadConfig,
  openStore,
  type Config,
} from '../shared/index.js';
import { createGateway } from './app.js';
import { startRecorder } from './recorder.js';

/** The gateway process: the only place that listens, connects and installs signal handlers. */
async function main(config: Config): Promise<void> {
  const logger = createLogger('gateway', config.logLevel);
  const processors = BUILTIN_DESCRIPTORS;
  const store = openStore(config.storeUrl);
  const broker = new Broker({
    urls: config.amqpUrls,
    role: 'gateway',
    logger,
    publishTimeoutMs: config.publishTimeoutMs,
    topology: buildTopology({
      prefix: config.amqpPrefix,
      processors: processors.map((p) => p.name),
      taskQueueMaxLength: config.taskQueueMaxLength,
      deliveryLimit: config.deliveryLimit,
    }),
  });
  const recorder = startRecorder({ broker, store, logger, prefetch: config.recorderPrefetch });
  const app = createGateway({ config, store, broker, processors, logger });

  const server = app.listen(config.port, config.host);
  server.keepAliveTimeout = 65_000;
  server.on('error', (err) => {
    logger.fatal({ err }, 'gateway could not listen');
    process.exit(1);
  });
  server.on('listening', () => {
    const { port } = server.address() as AddressInfo;
    logger.info({ host: config.host, port, basePath: config.basePath }, 'gateway listening');
  });
  broker.ready(15_000).catch(() => logger.warn({ urls: config.amqpUrls.length }, 'broker still unreachable; submits answer 503 until it is back'));

  // Stop intake, let in-flight requests and recorder batches finish, then release in reverse order.
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'gateway shutting down');
    const force = setTimeout(() => {
      logger.warn('grace period over; exiting with work in flight');
      process.exit(1);
    }, config.shutdownGraceMs);
    force.unref();
    server.close(() => {
      void (async () => {
        await recorder.stop();
        await broker.close();
        await store.close();
        logger.info('gateway stopped');
        process.exit(0);
      })();
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

try {
  await main(loadConfig());
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`warren gateway: bad configuration: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

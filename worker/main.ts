import { brokerFromConfig, runService } from '../shared/index.js';
import { selectProcessors } from './processors/registry.js';
import { startRunner } from './runner.js';

/** The worker process: connects and serves its processors until told to stop. */
await runService('worker', async (config, logger) => {
  const processors = await selectProcessors(config);
  const broker = brokerFromConfig(config, 'worker', processors.map((p) => p.name), logger);
  const runner = await startRunner({ broker, processors, concurrency: config.workerConcurrency, logger, dataDir: config.dataDir });
  broker.ready(15_000).catch(() => logger.warn('broker still unreachable; will keep retrying'));

  return async () => {
    await runner.stop(config.shutdownGraceMs);
    await broker.close();
  };
});

import { loadConfig, type Config } from './config.js';
import { coerceError, ConfigError } from './errors.js';
import { createLogger, type Logger } from './logger.js';

/**
 * How a warren process starts and stops. A bad configuration exits 2 with the variable named.
 * `start` acquires everything and returns the matching `stop`; SIGTERM or SIGINT runs it once
 * (stop intake, drain, release in reverse order), and the process exits when it is done — or, if
 * draining outlives the grace period by more than a margin, exits anyway.
 */
export async function runService(name: 'gateway' | 'worker', start: (config: Config, logger: Logger) => Promise<() => Promise<void>>): Promise<void> {
  let config: Config;
  let stop: () => Promise<void>;
  let logger: Logger;
  try {
    config = loadConfig();
    logger = createLogger(name, config.logLevel, config.logFormat);
    // start() may find more configuration wrong (e.g. an unknown processor name).
    stop = await start(config, logger);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`warren ${name}: bad configuration: ${err.message}`);
    process.exit(2);
  }

  // A promise whose failure nobody awaited is a bug, but not one worth every task in flight: log
  // it loudly and carry on rather than let Node end the process (its default).
  process.on('unhandledRejection', (reason) => logger.error({ err: coerceError(reason) }, 'unhandled promise rejection; carrying on'));

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.shutdownGraceMs }, `${name} shutting down`);
    setTimeout(() => {
      logger.warn('shutdown outlived the grace period; exiting with work in flight');
      process.exit(1);
    }, config.shutdownGraceMs + 5_000).unref();
    stop().then(
      () => {
        logger.info(`${name} stopped`);
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

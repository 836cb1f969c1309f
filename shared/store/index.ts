import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { PostgresTaskStore } from './postgres.js';
import { SqliteTaskStore } from './sqlite.js';
import type { TaskStore } from './types.js';
import { redactUrl, storeKind } from './url.js';

export type { DeliveryAttempt, DeliveryRecord, DeliveryStore, RedeliverOutcome } from './delivery-types.js';
export type { ApplyOutcome, NewTask, TaskCounts, TaskQuery, TaskRecord, TaskStore } from './types.js';
export { redactUrl } from './url.js';

export interface OpenStoreOptions {
  /** Connections a PostgreSQL store may hold (STORE_POOL_SIZE; default 10). */
  poolSize?: number;
  logger?: Logger;
}

/**
 * Open the store named by STORE_URL: `sqlite:<path>`, or `postgres://…` / `postgresql://…`.
 * Asynchronous because a PostgreSQL store connects and migrates before it is usable.
 */
export async function openStore(storeUrl: string, { poolSize = 10, logger }: OpenStoreOptions = {}): Promise<TaskStore> {
  switch (storeKind(storeUrl)) {
    case 'sqlite':
      return new SqliteTaskStore(storeUrl.slice('sqlite:'.length));
    case 'postgres':
      return PostgresTaskStore.open(storeUrl, { poolSize, logger });
    default:
      throw new ConfigError('STORE_URL', `unsupported store "${redactUrl(storeUrl)}"`);
  }
}

import { PostgresTaskStore } from './postgres.js';
import { SqliteTaskStore } from './sqlite.js';
import type { StoreFault } from './errors.js';
import { guardStore, type GuardedStore } from './guard.js';
import { ConfigError, redactUrl, storeKind, type Logger } from '../../shared/index.js';

export type { DeliveryAttempt, DeliveryRecord, DeliveryStore, RedeliverOutcome } from './delivery-types.js';
export type { ApplyOutcome, FinishedTask, NewTask, TaskCounts, TaskQuery, TaskRecord, TaskStore, TaskWithInput } from './types.js';
export { StoreUnavailableError, StorageFullError, storeFaultOf, type StoreFault } from './errors.js';
export type { GuardedStore, StoreHealth } from './guard.js';

export interface OpenStoreOptions {
  /** Connections a PostgreSQL store may hold (STORE_POOL_SIZE; default 10). */
  poolSize?: number;
  /** Longest wait for a PostgreSQL connection or answer (STORE_TIMEOUT_MS; default 10 s). */
  timeoutMs?: number;
  logger?: Logger;
  /** Told of every outage a store call met (metrics). */
  onFault?: (fault: StoreFault, err: unknown) => void;
}

/**
 * Open the store named by STORE_URL: `sqlite:<path>`, or `postgres://…` / `postgresql://…`.
 * Asynchronous because a PostgreSQL store connects and migrates before it is usable. The store
 * comes guarded (gateway/store/guard.ts): an outage or a full disk rejects as StoreUnavailableError
 * or StorageFullError, whichever database is behind it.
 */
export async function openStore(storeUrl: string, { poolSize = 10, timeoutMs = 10_000, logger, onFault }: OpenStoreOptions = {}): Promise<GuardedStore> {
  switch (storeKind(storeUrl)) {
    case 'sqlite':
      return guardStore(new SqliteTaskStore(storeUrl.slice('sqlite:'.length)), onFault);
    case 'postgres':
      return guardStore(await PostgresTaskStore.open(storeUrl, { poolSize, timeoutMs, logger }), onFault);
    default:
      throw new ConfigError('STORE_URL', `unsupported store "${redactUrl(storeUrl)}"`);
  }
}

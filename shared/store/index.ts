import { ConfigError } from '../errors.js';
import { SqliteTaskStore } from './sqlite.js';
import type { TaskStore } from './types.js';

export type { DeliveryAttempt, DeliveryRecord, DeliveryStore, RedeliverOutcome } from './delivery-types.js';
export type { ApplyOutcome, NewTask, TaskCounts, TaskQuery, TaskRecord, TaskStore } from './types.js';

/** Open the store named by STORE_URL (`sqlite:<path>`). */
export function openStore(storeUrl: string): TaskStore {
  if (storeUrl.startsWith('sqlite:')) return new SqliteTaskStore(storeUrl.slice('sqlite:'.length));
  throw new ConfigError('STORE_URL', `unsupported store "${storeUrl}"`);
}

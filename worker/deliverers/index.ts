import type { Config } from '../../shared/index.js';
import type { FileDeliverer } from './types.js';

/** The file-like deliverers this worker's configuration makes possible. */
export function fileDeliverers(_config: Config): FileDeliverer[] {
  return [];
}

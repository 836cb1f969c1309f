import fs from 'node:fs/promises';
import path from 'node:path';
import { artifactDir, coerceError, type Logger } from '../../shared/index.js';
import type { TaskStore } from '../store/index.js';
import { every } from './periodic.js';
import { removeAbandonedStaging, STAGING_MAX_AGE_MS } from '../uploads/abandoned.js';
import type { UploadStore } from '../uploads/store.js';

/**
 * Retention: every gateway runs a janitor that expires finished tasks older than RESULT_TTL_SECONDS
 * — the store drops the result and marks the task expired (task_result then answers 410 with
 * the time), and the janitor frees the disk: the task's output files, and its uploads wherever
 * UPLOAD_STORE keeps them (the volume or S3). The store hands each task to one janitor only. What
 * was delivered to a client's target (webhook, S3, FTP, DATA_DIR/results) is the client's and stays.
 * It also removes upload staging directories that a gateway killed mid-upload left behind.
 */
export interface JanitorOptions {
  store: TaskStore;
  uploads: Pick<UploadStore, 'discard'>;
  dataDir: string;
  logger: Logger;
  resultTtlMs: number;
  intervalMs: number;
}

const BATCH = 200;

export function startJanitor({ store, uploads, dataDir, logger, resultTtlMs, intervalMs }: JanitorOptions): { stop(): Promise<void> } {
  const sweep = async (): Promise<void> => {
    for (;;) {
      const now = Date.now();
      const expired = await store.expireFinished(now - resultTtlMs, BATCH, now);
      for (const task of expired) {
        await fs.rm(artifactDir(dataDir, task.id), { recursive: true, force: true });
        await uploads.discard(task.id, task.input.files);
      }
      if (expired.length > 0) logger.info({ expired: expired.length }, 'janitor expired finished tasks');
      if (expired.length < BATCH) break;
    }
    const abandoned = await removeAbandonedStaging(path.join(dataDir, 'uploads', '.incoming'), Date.now() - STAGING_MAX_AGE_MS);
    if (abandoned > 0) logger.info({ abandoned }, 'janitor removed upload staging left by a gateway that died mid-upload');
  };
  return every(intervalMs, sweep, (err) => logger.warn({ err: coerceError(err).message }, 'janitor sweep failed; trying again later'));
}

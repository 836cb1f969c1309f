import type { Logger, UploadStoreSetting } from '../../shared/index.js';
import type { UploadStore } from './upload-store.js';
import { s3UploadStore } from './s3-store.js';
import { volumeUploadStore } from './volume-store.js';

export type { UploadStore } from './upload-store.js';

/** The upload store UPLOAD_STORE names: the shared volume, or an S3 destination. */
export function uploadStoreFor(setting: UploadStoreSetting, dataDir: string, logger: Logger): UploadStore {
  return setting.kind === 's3' ? s3UploadStore(setting.destination, logger) : volumeUploadStore(dataDir);
}

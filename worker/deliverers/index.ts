import type { Config } from '../../shared/index.js';
import { createFtpDeliverer } from './ftp.js';
import { createS3Deliverer } from './s3.js';
import type { FileDeliverer } from './types.js';
import { createVolumeDeliverer } from './volume.js';

/** The file-like deliverers: S3 and FTP to the operator's named destinations, and the shared volume. */
export function fileDeliverers(config: Config): FileDeliverer[] {
  return [createS3Deliverer(config.s3Destinations), createFtpDeliverer(config.ftpDestinations), createVolumeDeliverer()];
}

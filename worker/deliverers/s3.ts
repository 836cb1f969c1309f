import { ReadStream, createReadStream } from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { describeDestination, s3ClientFor, type S3Destination } from '../../shared/index.js';
import { DeliveryError, accessDenied, deliveryAborted, scrub, unknownDestination } from './errors.js';
import { planPackage, targetSegments, vanishedArtifact, type PackageEntry } from './package.js';
import type { FileDeliverer } from './types.js';

export interface S3DelivererOptions {
  /** Multipart part size; S3 refuses parts under 5 MiB (default 8 MiB). Memory per upload is at most partSize × queueSize. */
  partSizeBytes?: number;
  /** Parts of one artifact in flight at once (default 4). */
  queueSize?: number;
}

/** Error names S3 (and the SDK) use for credentials that do not work; all of them are the operator's to fix. */
const ACCESS_ERRORS = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
]);

/**
 * Delivers into operator-configured buckets, under
 * `<destination prefix>/<client path>/<task_id>/<name>`. Every file goes through lib-storage's
 * Upload: one PUT for a small body, a multipart upload above the part size, streamed from the
 * volume so an artifact is never whole in memory.
 */
export function createS3Deliverer(destinations: Record<string, S3Destination>, options: S3DelivererOptions = {}): FileDeliverer {
  // One client per destination for the life of the deliverer: clients hold the keep-alive sockets.
  const clients = new Map(Object.entries(destinations).map(([name, destination]) => [name, s3ClientFor(destination)]));
  const partSize = options.partSizeBytes ?? 8 * 1024 * 1024;
  const queueSize = options.queueSize ?? 4;

  return {
    kind: 's3',
    async deliver(delivery, target, ctx) {
      const destination = target.destination === undefined ? undefined : destinations[target.destination];
      const client = target.destination === undefined ? undefined : clients.get(target.destination);
      if (!destination || !client) throw unknownDestination('s3', target.destination);
      const keyPrefix = [...destination.prefix.split('/'), ...targetSegments(target.path), delivery.taskId].filter((s) => s !== '').join('/');
      const entries = await planPackage(delivery, ctx.dataDir);
      try {
        for (const entry of entries) {
          if (ctx.signal.aborted) throw deliveryAborted(ctx.signal.reason);
          const key = `${keyPrefix}/${entry.name}`;
          await upload(client, destination.bucket, key, entry, { partSize, queueSize, signal: ctx.signal });
          ctx.log.debug({ destination: destination.name, bucket: destination.bucket, key }, 'delivered to s3');
        }
      } catch (error) {
        throw ctx.signal.aborted ? deliveryAborted(error) : classify(error, destination, entries);
      }
      return { location: `s3://${destination.bucket}/${keyPrefix}/` };
    },
    async close() {
      for (const client of clients.values()) client.destroy();
      clients.clear();
    },
  };
}

async function upload(
  client: S3Client,
  bucket: string,
  key: string,
  entry: PackageEntry,
  options: { partSize: number; queueSize: number; signal: AbortSignal },
): Promise<void> {
  const body = entry.source === 'file' ? createReadStream(entry.path) : entry.body;
  const transfer = new Upload({
    client,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: entry.contentType },
    partSize: options.partSize,
    queueSize: options.queueSize,
    // A failed multipart upload is aborted rather than left to accrue storage for its parts.
    leavePartsOnError: false,
  });
  const abort = () => void transfer.abort().catch(() => undefined);
  options.signal.addEventListener('abort', abort, { once: true });
  try {
    await transfer.done();
  } finally {
    options.signal.removeEventListener('abort', abort);
    // An aborted or failed upload stops reading mid-file; the descriptor must not wait for the GC.
    if (body instanceof ReadStream) body.destroy();
  }
}

/** Transient unless retrying cannot help (a 4xx other than auth, throttling or a missing bucket). */
function classify(error: unknown, destination: S3Destination, entries: readonly PackageEntry[]): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const vanished = vanishedArtifact(error, entries);
  if (vanished) return vanished;
  const failure = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = failure.name ?? 'Error';
  const httpStatus = failure.$metadata?.httpStatusCode;
  const secrets = [destination.credentials?.secretAccessKey, destination.credentials?.sessionToken, destination.credentials?.accessKeyId];
  const detail = scrub(`${name}${httpStatus ? `, HTTP ${httpStatus}` : ''}: ${failure.message ?? 'no message'}`, secrets);
  const where = describeDestination(destination);
  if (ACCESS_ERRORS.has(name) || httpStatus === 401 || httpStatus === 403) return accessDenied(where, detail, { httpStatus, cause: error });
  const retryable = httpStatus === undefined || httpStatus >= 500 || httpStatus === 408 || httpStatus === 429 || name === 'NoSuchBucket';
  if (retryable) return new DeliveryError('destination_unavailable', `${where} failed: ${detail}`, { httpStatus, cause: error });
  return new DeliveryError('destination_rejected', `${where} rejected the upload: ${detail}`, { permanent: true, httpStatus, cause: error });
}

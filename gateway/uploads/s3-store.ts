import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  describeDestination,
  parseS3Location,
  s3ClientFor,
  s3Location,
  safeFileName,
  uploadFileName,
  uploadKeyPrefix,
  type FileRef,
  type Logger,
  type S3Destination,
} from '../../shared/index.js';
import { HttpError } from '../http/http-errors.js';
import type { UploadStore } from './upload-store.js';

/**
 * Uploads in an S3 destination (UPLOAD_STORE=s3:<name>), under `<prefix>/uploads/<task id>/`.
 * Each staged file is streamed to the bucket (lib-storage: one PUT, or a multipart upload for a
 * large file), never whole in memory. A failure is the store's, not the client's: 503 with
 * Retry-After, and what this submission had already stored is removed, so a refused submission
 * leaves no object behind.
 */
export function s3UploadStore(destination: S3Destination, logger: Logger): UploadStore {
  const client = s3ClientFor(destination);

  const discard = async (taskId: string, files: readonly FileRef[]): Promise<void> => {
    await Promise.all(
      files.map(async (file) => {
        const object = parseS3Location(file.location);
        if (!object) return;
        await client.send(new DeleteObjectCommand({ Bucket: object.bucket, Key: object.key })).catch((err: unknown) => {
          // Nothing else can be done here; the operator's bucket lifecycle rule is the backstop.
          logger.warn({ taskId, location: file.location, err: errorText(err) }, 'could not remove an upload (of a task not accepted, or expired)');
        });
      }),
    );
  };

  return {
    async commit(files, types, taskId) {
      const stored: FileRef[] = [];
      const prefix = uploadKeyPrefix(destination, taskId);
      try {
        // One at a time: a failure stops the rest, and only what was stored before it needs removing.
        for (const [index, file] of files.entries()) {
          const name = safeFileName(file.originalname);
          const key = prefix + uploadFileName(index, name);
          const body = createReadStream(file.path);
          try {
            await new Upload({
              client,
              params: { Bucket: destination.bucket, Key: key, Body: body, ContentType: types[index]! },
              leavePartsOnError: false,
            }).done();
          } finally {
            body.destroy();
          }
          stored.push({ name, content_type: types[index]!, size: file.size, location: s3Location(destination.bucket, key) });
          // Free the volume as soon as the bucket has the bytes; the route's cleanup is the backstop.
          await fs.rm(file.path, { force: true });
        }
        return stored;
      } catch (err) {
        logger.warn({ taskId, store: describeDestination(destination), err: errorText(err) }, 'upload store refused a file');
        await discard(taskId, stored);
        throw new HttpError(503, 'upload_store_unavailable', 'the upload store is unreachable; try again shortly', {}, { 'Retry-After': '5' });
      }
    },
    discard,
    close: () => client.destroy(),
  };
}

function errorText(err: unknown): string {
  const failure = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return `${failure.name ?? 'Error'}${failure.$metadata?.httpStatusCode ? `, HTTP ${failure.$metadata.httpStatusCode}` : ''}: ${failure.message ?? String(err)}`;
}

import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  describeDestination,
  parseS3Location,
  PermanentError,
  resolveLocation,
  s3ClientFor,
  safeFileName,
  uploadFileName,
  uploadKeyPrefix,
  WarrenError,
  type FileRef,
  type S3Destination,
  type UploadStoreSetting,
} from '../shared/index.js';

/**
 * Gives processors a local path for every input file. Volume inputs are already on disk; `s3://`
 * inputs (UPLOAD_STORE=s3:<name>) are streamed into a per-run directory under
 * DATA_DIR/inputs/ — the data directory rather than os.tmpdir(), which is often a small tmpfs —
 * and that directory is removed when the run ends, whatever its outcome.
 */
export interface TaskInputs {
  pathOf(file: FileRef): string;
  release(): Promise<void>;
}

export interface InputFetcher {
  fetch(taskId: string, files: readonly FileRef[], signal: AbortSignal): Promise<TaskInputs>;
  close(): void;
}

export function createInputFetcher(dataDir: string, setting: UploadStoreSetting): InputFetcher {
  const store = setting.kind === 's3' ? { destination: setting.destination, client: s3ClientFor(setting.destination) } : undefined;
  return {
    async fetch(taskId, files, signal) {
      const local = new Map<string, string>();
      const remote = files.map((file, index) => ({ file, index, object: parseS3Location(file.location) })).filter((entry) => entry.object !== undefined);
      let dir: string | undefined;
      const release = async (): Promise<void> => {
        if (dir) await fs.promises.rm(dir, { recursive: true, force: true });
      };
      if (remote.length > 0) {
        if (!store)
          throw new PermanentError(`input "${remote[0]!.file.name}" is in S3, but this worker's UPLOAD_STORE is volume; give it the gateway's UPLOAD_STORE`, {
            code: 'upload_store_mismatch',
          });
        await fs.promises.mkdir(path.join(dataDir, 'inputs'), { recursive: true });
        dir = await fs.promises.mkdtemp(path.join(dataDir, 'inputs', `${taskId}-`));
        try {
          for (const { file, index, object } of remote) {
            const target = path.join(dir, uploadFileName(index, safeFileName(file.name)));
            await download(store.client, store.destination, taskId, object!, target, signal);
            local.set(file.location, target);
          }
        } catch (err) {
          await release();
          throw err;
        }
      }
      return { pathOf: (file) => local.get(file.location) ?? resolveLocation(dataDir, file.location), release };
    },
    close: () => store?.client.destroy(),
  };
}

async function download(
  client: S3Client,
  destination: S3Destination,
  taskId: string,
  object: { bucket: string; key: string },
  target: string,
  signal: AbortSignal,
): Promise<void> {
  const where = `s3://${object.bucket}/${object.key}`;
  // A message may only name this task's own uploads in this worker's upload store, never any object it likes.
  if (object.bucket !== destination.bucket || !object.key.startsWith(uploadKeyPrefix(destination, taskId))) {
    throw new PermanentError(`input ${where} is not an upload of this task in ${describeDestination(destination)}`, { code: 'unsafe_location' });
  }
  try {
    const answer = await client.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }), { abortSignal: signal });
    await pipeline(answer.Body as Readable, fs.createWriteStream(target, { flags: 'wx' }), { signal });
  } catch (err) {
    // Aborted (timeout, shutdown): the runner decides from the abort's reason, as for a processor.
    if (signal.aborted) throw signal.reason as Error;
    const failure = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    if (failure.name === 'NoSuchKey' || (failure.$metadata?.httpStatusCode === 404 && failure.name !== 'NoSuchBucket')) {
      throw new PermanentError(`input ${where} does not exist (expired or removed); submit the file again`, { code: 'input_missing', cause: err });
    }
    // Anything else (unreachable, 5xx, throttled, credentials being fixed) may pass on a retry.
    throw new WarrenError(
      'upload_store_unavailable',
      `reading input ${where} from ${describeDestination(destination)} failed: ${failure.name ?? 'Error'}: ${failure.message ?? String(err)}`,
      { cause: err },
    );
  }
}

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request } from 'express';
import type { StorageEngine } from 'multer';
import { HttpError } from '../http/http-errors.js';
import { SNIFF_BYTES } from './sniff.js';

/**
 * A multer storage engine that streams each uploaded file straight to a per-request directory on
 * the shared volume — never buffering a whole file in memory — while counting bytes against the
 * per-request limit and keeping the first bytes for content sniffing. Nothing here decides whether
 * a file is acceptable; the submit route does that once it knows the processor, and removes the
 * request's directory whatever the outcome.
 */
export interface StagedFile {
  path: string;
  size: number;
  head: Buffer;
}

interface Staging {
  dir: string;
  total: number;
  count: number;
}

const STAGING = Symbol('warren-staging');
type StagingRequest = Request & { [STAGING]?: Staging };

export function insufficientStorage(): HttpError {
  return new HttpError(507, 'insufficient_storage', 'the upload volume is nearly full; try again later', {}, { 'Retry-After': '60' });
}

export function stagingDirOf(req: Request): string | undefined {
  return (req as StagingRequest)[STAGING]?.dir;
}

/** How often (bytes written) a streaming upload checks the volume's free space against the reserve. */
const RESERVE_CHECK_EVERY = 4 * 1024 * 1024;

export function stagingStorage(options: { incomingDir: string; maxTotalBytes: number; minFreeBytes?: number }): StorageEngine {
  const minFreeBytes = options.minFreeBytes ?? 0;
  return {
    _handleFile(req, file, callback) {
      const request = req as StagingRequest;
      const staging = (request[STAGING] ??= { dir: path.join(options.incomingDir, randomUUID()), total: 0, count: 0 });
      const target = path.join(staging.dir, String(staging.count++));
      const head: Buffer[] = [];
      let headLength = 0;
      let size = 0;
      let sinceReserveCheck = 0;

      const counter = new Transform({
        transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
          size += chunk.length;
          staging.total += chunk.length;
          if (staging.total > options.maxTotalBytes) {
            done(new HttpError(413, 'upload_too_large', `the files of one request may total at most ${options.maxTotalBytes} bytes`));
            return;
          }
          if (headLength < SNIFF_BYTES) {
            const piece = chunk.subarray(0, SNIFF_BYTES - headLength);
            head.push(piece);
            headLength += piece.length;
          }
          sinceReserveCheck += chunk.length;
          if (minFreeBytes <= 0 || sinceReserveCheck < RESERVE_CHECK_EVERY) {
            done(null, chunk);
            return;
          }
          // The up-front check trusts Content-Length, which a chunked upload does not send: the
          // reserve is checked again as the bytes arrive, so no upload eats into it.
          sinceReserveCheck = 0;
          fs.statfs(options.incomingDir, (err, stats) => {
            if (!err && stats.bavail * stats.bsize < minFreeBytes) done(insufficientStorage());
            else done(null, chunk);
          });
        },
      });

      fs.promises
        .mkdir(staging.dir, { recursive: true })
        .then(() => pipeline(file.stream, counter, fs.createWriteStream(target, { flags: 'wx' })))
        .then(
          () => callback(null, { path: target, size, head: Buffer.concat(head) } as Partial<Express.Multer.File> & StagedFile),
          (err: unknown) => {
            // Drain what is left so busboy can finish the request; the directory is removed later.
            file.stream.resume();
            fs.rm(target, { force: true }, () => callback(err as Error));
          },
        );
    },
    _removeFile(_req, file, callback) {
      fs.rm((file as unknown as StagedFile).path, { force: true }, () => callback(null));
    },
  };
}

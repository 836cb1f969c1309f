import fs from 'node:fs/promises';
import type { RequestHandler } from 'express';
import { insufficientStorage } from './storage.js';

/**
 * Backpressure on disk: a multipart upload is refused up front (507, with Retry-After) when the
 * volume it would be staged on has less free space than `minFreeBytes` plus the request's own
 * declared length — better than failing half-way with ENOSPC, and the volume keeps room for the
 * store and the workers' artifacts. A chunked upload declares no length: the staging storage
 * (storage.ts) checks the reserve again as its bytes arrive.
 */
export function diskBudget(dataDir: string, minFreeBytes: number): RequestHandler {
  return (req, _res, next) => {
    if (minFreeBytes <= 0 || !req.is('multipart/form-data')) return next();
    const declared = Number(req.get('content-length') ?? 0) || 0;
    fs.statfs(dataDir).then(
      (stats) => {
        const free = stats.bavail * stats.bsize;
        if (free < minFreeBytes + declared) {
          next(insufficientStorage());
        } else {
          next();
        }
      },
      // A volume we cannot measure is not a reason to refuse work.
      () => next(),
    );
  };
}

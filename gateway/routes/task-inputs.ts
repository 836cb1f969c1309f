import fs from 'node:fs';
import { Router, type Request } from 'express';
import { resolveLocation, VOLUME_SCHEME } from '../../shared/index.js';
import type { TaskStore } from '../store/index.js';
import { HttpError } from '../http/http-errors.js';
import { clientOf } from '../http/auth.js';
import { loadTask } from '../tasks/task-lookup.js';

const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/**
 * GET {base}/tasks/:id/inputs/:index — an uploaded file, for its task's page (the OCR word boxes
 * are drawn over it). Only from the volume: the gateway does not fetch S3 uploads back. Raster
 * images inline (their type was sniffed from their bytes at upload), anything else as a download,
 * so no upload is ever shown as a page of this origin.
 */
export function taskInputRoutes({ store, dataDir }: { store: TaskStore; dataDir: string }): Router {
  const router = Router();
  router.get('/tasks/:id/inputs/:index', async (req: Request<{ id: string; index: string }>, res) => {
    const record = await loadTask(store, req.params.id, clientOf(res));
    const file = /^\d{1,3}$/.test(req.params.index) ? (await store.input(record.id))?.files[Number(req.params.index)] : undefined;
    const path = file?.location.startsWith(VOLUME_SCHEME) ? resolveLocation(dataDir, file.location) : undefined;
    if (!file || path === undefined || !fs.existsSync(path))
      throw new HttpError(404, 'input_not_found', `task has no uploaded file ${req.params.index.slice(0, 10)} here`);
    res.setHeader('Content-Type', file.content_type);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    if (!INLINE_TYPES.has(file.content_type)) res.attachment(file.name);
    res.sendFile(path);
  });
  return router;
}

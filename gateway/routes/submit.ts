import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';
import multer from 'multer';
import { isTerminal, publishTask, taskMessage, uploadDir, type Broker, type FileRef, type Logger, type TaskStore } from '../../shared/index.js';
import { HttpError } from '../http-errors.js';
import type { SubmissionParser } from '../submission.js';
import type { LiveEvents } from '../live-events.js';
import type { GatewayMetrics } from '../metrics.js';
import { taskUrls, toStatusDocument } from '../task-document.js';
import { preferredWaitSeconds } from '../task-lookup.js';
import { checkUploads, commitUploads, type UploadedFile } from '../uploads/accept.js';
import { stagingDirOf, stagingStorage } from '../uploads/storage.js';

export interface SubmitDeps {
  basePath: string;
  live: LiveEvents;
  maxWaitSeconds: number;
  dataDir: string;
  store: TaskStore;
  broker: Broker;
  parser: SubmissionParser;
  logger: Logger;
  metrics: Pick<GatewayMetrics, 'tasksSubmitted' | 'tasksRejected'>;
  limits: { maxBodyBytes: number; maxFieldBytes: number; maxFields: number; maxUploadBytes: number; maxUploadTotalBytes: number; maxFiles: number };
}

/**
 * POST {base}/uploader — the original system's submit route. Order matters: files are staged and
 * checked, the PENDING row is written, the task is published with a confirm, and only then does
 * the client hear 202. A publish the broker did not confirm is not an accepted task: 503, the row
 * says so, and its files are removed. A rejected request leaves no file behind.
 */
export function submitRoutes({ basePath, live, maxWaitSeconds, dataDir, store, broker, parser, logger, metrics, limits }: SubmitDeps): Router {
  const router = Router();
  const multipart = multer({
    storage: stagingStorage({ incomingDir: path.join(dataDir, 'uploads', '.incoming'), maxTotalBytes: limits.maxUploadTotalBytes }),
    limits: {
      fieldSize: limits.maxFieldBytes,
      fields: limits.maxFields + 1,
      files: limits.maxFiles,
      fileSize: limits.maxUploadBytes,
      parts: limits.maxFields + 1 + limits.maxFiles,
      fieldNameSize: 128,
    },
  }).any();

  const bodyParsers: RequestHandler[] = [
    express.json({ limit: limits.maxBodyBytes, strict: true }),
    express.urlencoded({ extended: false, limit: limits.maxBodyBytes, parameterLimit: limits.maxFields + 1 }),
    (req, res, next) => {
      // A safety net for requests the client abandons half-way; the normal paths below remove
      // the staging directory before answering.
      res.on('close', () => void removeStaging(req));
      multipart(req, res, next);
    },
  ];

  router.post('/uploader', ...bodyParsers, async (req, res) => {
    try {
      await submit(req, res);
    } finally {
      await removeStaging(req);
    }
  });
  // A multipart error (a limit, a broken body) skips the handler: clean up, then answer it.
  router.use('/uploader', (err: unknown, req: Request, _res: Response, next: NextFunction) => {
    removeStaging(req).then(() => next(err), next);
  });

  const submit = async (req: Request, res: Response): Promise<void> => {
    if (req.body === undefined) {
      throw new HttpError(415, 'unsupported_media_type', 'send application/json, application/x-www-form-urlencoded or multipart/form-data');
    }
    const source = req.is('application/json') ? 'json' : 'form';
    const { processor, fields } = parser.parse(req.body, source);
    const uploads = (req.files ?? []) as UploadedFile[];
    const types = await checkUploads(uploads, processor, limits.maxUploadBytes);
    if (!broker.isConnected()) {
      metrics.tasksRejected.labels('broker_unavailable').inc();
      throw new HttpError(503, 'broker_unavailable', 'the task queue is unreachable; try again shortly', {}, { 'Retry-After': '2' });
    }

    const id = randomUUID();
    // The access log line of this request carries the new task's id (gateway/access-log.ts).
    res.locals.taskId = id;
    const createdAt = Date.now();
    const files: FileRef[] = await commitUploads(uploads, types, dataDir, id);
    const input = { fields, files };
    try {
      await store.insertPending({ id, processor: processor.name, input, createdAt });
    } catch (err) {
      await fs.rm(uploadDir(dataDir, id), { recursive: true, force: true });
      throw err;
    }
    try {
      await publishTask(broker, taskMessage({ task_id: id, processor: processor.name, submitted_at: new Date(createdAt).toISOString(), attempt: 1, input }));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      logger.warn({ taskId: id, err: message }, 'task not accepted: publish unconfirmed');
      metrics.tasksRejected.labels('publish_unconfirmed').inc();
      await store.markNotAccepted(id, { code: 'not_accepted', message: `the broker did not confirm the task: ${message}` }, Date.now());
      await fs.rm(uploadDir(dataDir, id), { recursive: true, force: true });
      throw new HttpError(503, 'broker_unavailable', 'the task queue did not accept the task; try again shortly', {}, { 'Retry-After': '2' });
    }

    metrics.tasksSubmitted.labels(processor.name).inc();

    const urls = taskUrls(basePath, id);
    // A browser posting the plain form (no JavaScript) goes to a page that shows the task.
    if (req.accepts(['json', 'html']) === 'html') {
      res.redirect(303, urls.page);
      return;
    }
    // `Prefer: wait=N`: answer with the finished task if it finishes within N seconds.
    const wait = preferredWaitSeconds(req.get('prefer'), maxWaitSeconds);
    if (wait !== undefined) {
      res.setHeader('Preference-Applied', `wait=${wait}`);
      const record = await live.waitForTerminal(id, wait * 1000);
      if (record && isTerminal(record.status)) {
        const document = toStatusDocument(record, basePath);
        res.status(200).location(urls.status).json(record.status === 'SUCCESS' ? { ...document, result: record.result ?? null } : document);
        return;
      }
    }
    res
      .status(202)
      .location(urls.status)
      .json({ task_id: id, status: 'PENDING', processor: processor.name, status_url: urls.status, result_url: urls.result });
  };
  return router;
}

async function removeStaging(req: Request): Promise<void> {
  const dir = stagingDirOf(req);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}

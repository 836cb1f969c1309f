import { randomUUID } from 'node:crypto';
import express, { type RequestHandler, Router } from 'express';
import multer from 'multer';
import { publishTask, taskMessage, type Broker, type Logger, type TaskStore } from '../../shared/index.js';
import { HttpError } from '../http-errors.js';
import type { SubmissionParser } from '../submission.js';
import { taskUrls } from '../task-document.js';

export interface SubmitDeps {
  basePath: string;
  store: TaskStore;
  broker: Broker;
  parser: SubmissionParser;
  logger: Logger;
  limits: { maxBodyBytes: number; maxFieldBytes: number; maxFields: number };
}

/**
 * POST {base}/uploader — the original system's submit route. Order matters: the PENDING row is
 * written first, then the task is published with a confirm, and only then does the client hear
 * 202. A publish the broker did not confirm is not an accepted task: 503, and the row says so.
 */
export function submitRoutes({ basePath, store, broker, parser, logger, limits }: SubmitDeps): Router {
  const router = Router();
  const bodyParsers: RequestHandler[] = [
    express.json({ limit: limits.maxBodyBytes, strict: true }),
    express.urlencoded({ extended: false, limit: limits.maxBodyBytes, parameterLimit: limits.maxFields + 1 }),
    multer({
      limits: { fieldSize: limits.maxFieldBytes, fields: limits.maxFields + 1, parts: limits.maxFields + 1, fieldNameSize: 128 },
    }).none(),
  ];

  router.post('/uploader', ...bodyParsers, async (req, res) => {
    if (req.body === undefined) {
      throw new HttpError(415, 'unsupported_media_type', 'send application/json, application/x-www-form-urlencoded or multipart/form-data');
    }
    const { processor, fields } = parser.parse(req.body);
    if (!broker.isConnected()) {
      throw new HttpError(503, 'broker_unavailable', 'the task queue is unreachable; try again shortly', {}, { 'Retry-After': '2' });
    }

    const id = randomUUID();
    const createdAt = Date.now();
    const input = { fields, files: [] };
    await store.insertPending({ id, processor: processor.name, input, createdAt });
    try {
      await publishTask(broker, taskMessage({ task_id: id, processor: processor.name, submitted_at: new Date(createdAt).toISOString(), attempt: 1, input }));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      logger.warn({ taskId: id, err: message }, 'task not accepted: publish unconfirmed');
      await store.markNotAccepted(id, { code: 'not_accepted', message: `the broker did not confirm the task: ${message}` }, Date.now());
      throw new HttpError(503, 'broker_unavailable', 'the task queue did not accept the task; try again shortly', {}, { 'Retry-After': '2' });
    }

    const urls = taskUrls(basePath, id);
    // A browser posting the plain form (no JavaScript) goes to a page that shows the task.
    if (req.accepts(['json', 'html']) === 'html') {
      res.redirect(303, urls.page);
      return;
    }
    res
      .status(202)
      .location(urls.status)
      .json({ task_id: id, status: 'PENDING', processor: processor.name, status_url: urls.status, result_url: urls.result });
  });
  return router;
}

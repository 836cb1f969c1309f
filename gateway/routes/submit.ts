import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';
import multer from 'multer';
import { coerceError, isTerminal, taskMessage, type Broker, type FileRef, type Logger } from '../../shared/index.js';
import { storeFaultOf, type TaskStore } from '../store/index.js';
import { retryDelayMs } from '../background/store-retry.js';
import { HttpError } from '../http/http-errors.js';
import type { SubmissionParser } from '../tasks/submission.js';
import type { LiveEvents } from '../tasks/live-events.js';
import type { GatewayMetrics } from '../metrics.js';
import { deliveriesOf, toStatusDocument } from '../tasks/task-document.js';
import { parseTargets, requestOrigin, withGatewayUrl, type TargetOptions } from '../tasks/delivery-targets.js';
import type { ConfirmationLog } from '../background/task-outbox.js';
import { preferredWaitSeconds } from '../tasks/task-lookup.js';
import { clientOf } from '../http/auth.js';
import { checkUploads, type UploadedFile } from '../uploads/accept.js';
import { stagingDirOf, stagingStorage } from '../uploads/storage.js';
import { diskBudget } from '../uploads/disk-budget.js';
import type { UploadStore } from '../uploads/store.js';
import type { TaskDispatch } from '../celery/dispatch.js';
import type { Links } from '../links.js';

export interface SubmitDeps {
  links: Links;
  /** How long an Idempotency-Key keeps naming its task. */
  idempotencyTtlMs: number;
  live: LiveEvents;
  maxWaitSeconds: number;
  /** Staging happens under DATA_DIR/uploads/.incoming whatever the upload store. */
  dataDir: string;
  /** Where accepted files go: the volume or S3 (UPLOAD_STORE). */
  uploads: UploadStore;
  store: TaskStore;
  broker: Broker;
  /** Publishes an accepted task, with a confirm, to what serves its processor: its warren queue or its Celery queue. */
  dispatch: TaskDispatch;
  parser: SubmissionParser;
  logger: Logger;
  metrics: Pick<GatewayMetrics, 'tasksSubmitted' | 'tasksRejected'>;
  /** Notes each confirmed publish for the task outbox (gateway/background/task-outbox.ts). */
  confirmations?: ConfirmationLog;
  /** How long a task whose publish failed may take to be marked not accepted while the store is down (TASK_SWEEP_GRACE_MS: the outbox publishes it after that). */
  markRetryMs?: number;
  /** What delivery targets this gateway accepts (webhooks, destination names, the SSRF guard). */
  targets: TargetOptions;
  limits: {
    minFreeDiskBytes: number;
    maxBodyBytes: number;
    maxFieldBytes: number;
    maxFields: number;
    maxUploadBytes: number;
    maxUploadTotalBytes: number;
    maxFiles: number;
  };
}

/**
 * POST {base}/uploader — the original system's submit route. Order matters: files are staged and
 * checked, the PENDING row is written, the task is published with a confirm, and only then does
 * the client hear 202. A publish the broker did not confirm is not an accepted task: 503, the row
 * says so, and its files are removed. A rejected request leaves no file behind.
 */
export function submitRoutes({
  links,
  idempotencyTtlMs,
  live,
  maxWaitSeconds,
  dataDir,
  uploads: uploadStore,
  store,
  broker,
  dispatch,
  parser,
  logger,
  metrics,
  targets: targetOptions,
  limits,
  confirmations,
  markRetryMs = 60_000,
}: SubmitDeps): Router {
  const router = Router();
  const multipart = multer({
    storage: stagingStorage({
      incomingDir: path.join(dataDir, 'uploads', '.incoming'),
      maxTotalBytes: limits.maxUploadTotalBytes,
      minFreeBytes: limits.minFreeDiskBytes,
    }),
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
    diskBudget(dataDir, limits.minFreeDiskBytes),
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
    const targets = withGatewayUrl(
      await parseTargets(req.body as Record<string, unknown>, targetOptions),
      links.publicUrl ? undefined : requestOrigin(req.protocol, req.get('host')),
    );
    const uploads = (req.files ?? []) as UploadedFile[];
    const types = await checkUploads(uploads, processor, limits.maxUploadBytes);
    if (!broker.isConnected()) {
      metrics.tasksRejected.labels('broker_unavailable').inc();
      throw new HttpError(503, 'broker_unavailable', 'the task queue is unreachable; try again shortly', {}, { 'Retry-After': '2' });
    }

    const id = randomUUID();
    // The access log line of this request carries the new task's id (gateway/http/access-log.ts).
    res.locals.taskId = id;
    const createdAt = Date.now();
    const { owner } = clientOf(res);
    const idempotency = idempotencyOf(
      req,
      owner,
      { processor: processor.name, fields, targets, files: uploads.map((f) => [f.originalname, f.size]) },
      createdAt + idempotencyTtlMs,
    );
    const files: FileRef[] = await uploadStore.commit(uploads, types, id).catch((err: unknown) => {
      if (err instanceof HttpError && err.status === 503) metrics.tasksRejected.labels('upload_store_unavailable').inc();
      throw err;
    });
    const input = { fields, files };
    let inserted;
    try {
      inserted = await store.insertPending({
        id,
        processor: processor.name,
        input,
        createdAt,
        targets,
        ...(owner !== null ? { owner } : {}),
        ...(idempotency ? { idempotency } : {}),
      });
    } catch (err) {
      await uploadStore.discard(id, files);
      throw err;
    }
    if (!inserted.created) {
      // The same key again: the task the first submission made, never a second run.
      await uploadStore.discard(id, files);
      if (!inserted.sameRequest) {
        throw new HttpError(409, 'idempotency_key_reused', 'this Idempotency-Key was already used for a different request');
      }
      res.locals.taskId = inserted.taskId;
      res.setHeader('Idempotent-Replayed', 'true');
      await answer(req, res, inserted.taskId, processor.name);
      return;
    }
    let knownStatus: string | undefined = 'PENDING';
    try {
      await dispatch(taskMessage({ task_id: id, processor: processor.name, submitted_at: new Date(createdAt).toISOString(), attempt: 1, input }));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const refused = await markNotAccepted(id, message);
      if (refused !== 'moved_on') {
        logger.warn({ taskId: id, err: message }, 'task not accepted: publish unconfirmed');
        metrics.tasksRejected.labels('publish_unconfirmed').inc();
        // Files stay while the row may still be published (unmarked): the janitor takes them with the task.
        if (refused === 'marked') await uploadStore.discard(id, files);
        throw new HttpError(503, 'broker_unavailable', 'the task queue did not accept the task; try again shortly', {}, { 'Retry-After': '2' });
      }
      // The confirm was lost, not the message: a worker has the task already. It is accepted, its
      // files stay (the worker reads them) and its Idempotency-Key keeps naming it.
      logger.warn({ taskId: id, err: message }, 'publish unconfirmed, but a worker already took the task; accepted');
      knownStatus = undefined;
    }

    confirmations?.confirmed(id);
    metrics.tasksSubmitted.labels(processor.name).inc();
    await answer(req, res, id, processor.name, knownStatus);
  };

  /**
   * Record that the broker never confirmed task `id`: 'marked' (FAILURE not_accepted, its key and
   * targets freed), 'moved_on' (a worker has it after all: the message got through), or
   * 'unknown' when the store cannot be written either. Then the row is PENDING and unconfirmed,
   * and marking goes on in the background for as long as the outbox would wait before publishing
   * it — should this gateway die first, the outbox publishes the task after all, so it runs
   * although its client heard 503 (a retry with its Idempotency-Key finds that very task).
   */
  const markNotAccepted = async (id: string, why: string): Promise<'marked' | 'moved_on' | 'unknown'> => {
    const mark = (): Promise<boolean> =>
      store.markNotAccepted(id, { code: 'not_accepted', message: `the broker did not confirm the task: ${why}` }, Date.now());
    try {
      return (await mark()) ? 'marked' : 'moved_on';
    } catch (err) {
      if (!storeFaultOf(err)) throw err;
      logger.warn({ taskId: id, err: coerceError(err).message }, 'task not accepted, and the store cannot say so yet; retrying in the background');
      const giveUpAt = Date.now() + markRetryMs;
      const retry = (tries: number): void => {
        setTimeout(() => {
          mark().then(
            (marked) => logger.info({ taskId: id, marked }, marked ? 'task marked not accepted' : 'task was taken by a worker after all'),
            (again: unknown) =>
              Date.now() < giveUpAt
                ? retry(tries + 1)
                : logger.error({ taskId: id, err: coerceError(again).message }, 'could not mark the task not accepted; the outbox will publish it'),
          );
        }, retryDelayMs(tries)).unref();
      };
      retry(1);
      return 'unknown';
    }
  };

  /** 303 to the task page for a plain form post; else 202 — or 200 with the finished task under `Prefer: wait`. */
  const answer = async (req: Request, res: Response, id: string, processorName: string, knownStatus?: string): Promise<void> => {
    const urls = { status: links.status(id), result: links.result(id), page: links.page(id) };
    if (req.accepts(['json', 'html']) === 'html') {
      res.redirect(303, urls.page);
      return;
    }
    const wait = preferredWaitSeconds(req.get('prefer'), maxWaitSeconds);
    if (wait !== undefined) res.setHeader('Preference-Applied', `wait=${wait}`);
    const record = wait !== undefined ? await live.waitForTerminal(id, wait * 1000) : knownStatus ? undefined : await store.get(id);
    if (wait !== undefined && record && isTerminal(record.status)) {
      const document = toStatusDocument(record, links, await deliveriesOf(store, record));
      const result = record.status === 'SUCCESS' ? await store.result(record.id) : undefined;
      res
        .status(200)
        .location(urls.status)
        .json(record.status === 'SUCCESS' ? { ...document, result: result === undefined ? null : (JSON.parse(result) as unknown) } : document);
      return;
    }
    res
      .status(202)
      .location(urls.status)
      .json({ task_id: id, status: record?.status ?? knownStatus ?? 'PENDING', processor: processorName, status_url: urls.status, result_url: urls.result });
  };
  return router;
}

/**
 * The `Idempotency-Key` header, if any: the same key within IDEMPOTENCY_TTL_SECONDS returns the
 * first submission's task; the fingerprint tells a true retry from a different request. Keys are
 * per API key: two clients that both send "order-1" get a task each. (The owner is joined with a
 * newline, which no header value can hold; anonymous keys are stored as sent.)
 */
function idempotencyOf(
  req: Request,
  owner: string | null,
  request: unknown,
  expiresAt: number,
): { key: string; fingerprint: string; expiresAt: number } | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) throw new HttpError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1-255 visible ASCII characters');
  return { key: owner === null ? key : `${owner}\n${key}`, fingerprint: createHash('sha256').update(JSON.stringify(request)).digest('hex'), expiresAt };
}

async function removeStaging(req: Request): Promise<void> {
  const dir = stagingDirOf(req);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}

import fs from 'node:fs';
import { Router, type Request, type Response } from 'express';
import { isTerminal, resolveLocation, type FileRef } from '../../shared/index.js';
import type { TaskRecord, TaskStore } from '../store/index.js';
import type { WorkerCensus } from '../tasks/worker-census.js';
import { HttpError } from '../http/http-errors.js';
import { renderTaskPage } from '../pages/task-page.js';
import type { LiveEvents } from '../tasks/live-events.js';
import { deliveriesOf, toStatusDocument } from '../tasks/task-document.js';
import { loadTask, preferredWaitSeconds } from '../tasks/task-lookup.js';
import { clientOf } from '../http/auth.js';
import type { Links } from '../links.js';

/**
 * Reading tasks: status (JSON), result (JSON or the output file), single artifacts, and the HTML
 * page the no-JavaScript form lands on.
 *
 * task_result on SUCCESS: no artifacts → the JSON result; exactly one → that file with its content
 * type; several → `{ result, artifacts: [...download URLs] }`. `?format=json` always gives the
 * latter shape.
 */
export interface TaskRouteDeps {
  links: Links;
  store: TaskStore;
  dataDir: string;
  live: LiveEvents;
  maxWaitSeconds: number;
  /** Who serves each processor now: an unfinished task's status says so. */
  workers?: WorkerCensus;
}

export function taskRoutes({ links, store, dataDir, live, maxWaitSeconds, workers }: TaskRouteDeps): Router {
  const router = Router();

  const load = (req: Request<{ id: string }>, res: Response): Promise<TaskRecord> => loadTask(store, req.params.id, clientOf(res));

  const requireSuccess = (record: TaskRecord): void => {
    switch (record.status) {
      case 'SUCCESS':
        if (record.expiredAt !== null) {
          const at = new Date(record.expiredAt).toISOString();
          throw new HttpError(410, 'result_expired', `the result expired at ${at} (RESULT_TTL_SECONDS) and was removed`, {
            status: record.status,
            expired_at: at,
          });
        }
        return;
      case 'FAILURE':
        throw new HttpError(409, 'task_failed', `task failed: ${record.error?.message ?? 'unknown error'}`, {
          status: record.status,
          task_error: record.error,
        });
      case 'REVOKED':
        throw new HttpError(409, 'task_revoked', 'task was cancelled; it has no result', { status: record.status });
      default:
        throw new HttpError(409, 'task_not_ready', `task is ${record.status}; the result is not ready yet`, { status: record.status }, { 'Retry-After': '1' });
    }
  };

  const sendArtifact = (res: Response, artifact: FileRef): void => {
    const file = resolveLocation(dataDir, artifact.location);
    if (!fs.existsSync(file)) throw new HttpError(410, 'artifact_gone', `output file "${artifact.name}" is no longer available`);
    res.setHeader('Content-Type', artifact.content_type);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.attachment(artifact.name);
    res.sendFile(file);
  };

  router.get('/task_status/:id', async (req, res) => {
    let record = await load(req, res);
    const wait = preferredWaitSeconds(req.get('prefer'), maxWaitSeconds);
    if (wait !== undefined) {
      record = (await live.waitForTerminal(record.id, wait * 1000)) ?? record;
      res.setHeader('Preference-Applied', `wait=${wait}`);
    }
    res.setHeader('Cache-Control', 'no-store');
    const document = toStatusDocument(record, links, await deliveriesOf(store, record));
    // Waiting on a processor no worker serves is worth saying: the task will not move until one starts.
    if (workers && !isTerminal(record.status)) document.workers = await workers.workers(record.processor);
    res.json(document);
  });

  router.get('/task_result/:id', async (req, res) => {
    const record = await load(req, res);
    res.setHeader('Cache-Control', 'no-store');
    requireSuccess(record);
    const { artifacts } = record;
    if (artifacts.length === 1 && req.query.format !== 'json') {
      sendArtifact(res, artifacts[0]!);
      return;
    }
    // The result is sent as the worker wrote it, never parsed here: a large one costs its bytes only.
    const result = (await store.result(record.id)) ?? 'null';
    res.type('json');
    if (req.query.format === 'json' || artifacts.length > 1) {
      const files = artifacts.map((a) => ({ name: a.name, content_type: a.content_type, size: a.size, url: links.artifact(record.id, a.name) }));
      res.send(`{"result":${result},"artifacts":${JSON.stringify(files)}}`);
    } else {
      res.send(result);
    }
  });

  router.get('/task_result/:id/artifacts/:name', async (req: Request<{ id: string; name: string }>, res) => {
    const record = await load(req, res);
    requireSuccess(record);
    const artifact = record.artifacts.find((a) => a.name === req.params.name);
    if (!artifact) throw new HttpError(404, 'artifact_not_found', `task has no output file "${req.params.name.slice(0, 100)}"`);
    res.setHeader('Cache-Control', 'no-store');
    sendArtifact(res, artifact);
  });

  router.get('/tasks/:id', async (req, res) => {
    const record = await load(req, res);
    const resultJson = record.status === 'SUCCESS' && record.expiredAt === null ? ((await store.result(record.id)) ?? 'null') : undefined;
    const input = await store.input(record.id);
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(
      renderTaskPage({
        links,
        task: toStatusDocument(record, links, await deliveriesOf(store, record)),
        ...(resultJson === undefined ? {} : { resultJson }),
        ...(input === undefined ? {} : { input }),
      }),
    );
  });

  return router;
}

import { Router, type Request } from 'express';
import { isTaskId, type TaskRecord, type TaskStore } from '../../shared/index.js';
import { HttpError } from '../http-errors.js';
import { renderTaskPage } from '../pages/task-page.js';
import { toStatusDocument } from '../task-document.js';

/** Reading tasks: status (JSON), result (JSON), and the HTML page the no-JavaScript form lands on. */
export function taskRoutes({ basePath, store }: { basePath: string; store: TaskStore }): Router {
  const router = Router();

  const load = async (req: Request<{ id: string }>): Promise<TaskRecord> => {
    const id = req.params.id;
    if (!isTaskId(id)) throw new HttpError(400, 'invalid_task_id', 'task ids are UUIDs');
    const record = await store.get(id.toLowerCase());
    // Unknown means unknown: never PENDING (the original's rpc backend said PENDING for anything).
    if (!record) throw new HttpError(404, 'task_not_found', `no task ${id}`);
    return record;
  };

  router.get('/task_status/:id', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(toStatusDocument(await load(req), basePath));
  });

  router.get('/task_result/:id', async (req, res) => {
    const record = await load(req);
    res.setHeader('Cache-Control', 'no-store');
    switch (record.status) {
      case 'SUCCESS':
        res.json(record.result ?? null);
        return;
      case 'FAILURE':
        throw new HttpError(409, 'task_failed', `task failed: ${record.error?.message ?? 'unknown error'}`, {
          status: record.status,
          task_error: record.error,
        });
      case 'REVOKED':
        throw new HttpError(409, 'task_revoked', 'task was cancelled; it has no result', { status: record.status });
      default:
        throw new HttpError(409, 'task_not_ready', `task is ${record.status}; the result is not ready yet`, { status: record.status }, {
          'Retry-After': '1',
        });
    }
  });

  router.get('/tasks/:id', async (req, res) => {
    const record = await load(req);
    const resultJson = record.status === 'SUCCESS' ? JSON.stringify(record.result ?? null) : undefined;
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(renderTaskPage({ basePath, task: toStatusDocument(record, basePath), ...(resultJson === undefined ? {} : { resultJson }) }));
  });

  return router;
}

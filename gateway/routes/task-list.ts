import { Router, type Request, type Response } from 'express';
import { TASK_STATUSES, type TaskStatus } from '../../shared/index.js';
import type { TaskRecord, TaskStore } from '../store/index.js';
import type { TaskList, TaskSummary } from '../docs/api-schemas.js';
import { HttpError } from '../http/http-errors.js';
import { clientOf } from '../http/auth.js';
import { prefersHtml } from '../http/negotiation.js';
import { renderTaskListPage, type TaskListQuery } from '../pages/task-list-page.js';
import type { Links } from '../links.js';

/**
 * GET {base}/tasks — the caller's own tasks, newest first: JSON for API clients, the Tasks page for
 * browsers (by Accept). "Own" is the API key's tasks with API_KEYS on (an admin key too: the
 * dashboard is where every task shows), and the anonymous tasks without a key. Filters: `status`,
 * `processor`; paging by an opaque `cursor` (the last row's created_at and id), which neither skips
 * nor repeats tasks made in the same millisecond, whatever arrives meanwhile.
 */

const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 100;

export function taskListRoutes({ links, store, processors }: { links: Links; store: TaskStore; processors: readonly string[] }): Router {
  const router = Router();

  router.get('/tasks', async (req: Request, res: Response) => {
    const query = parseQuery(req);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    // One more than asked: whether a next page exists, without a count.
    const rows = await store.list({
      owner: clientOf(res).owner,
      limit: query.limit + 1,
      ...(query.status ? { status: query.status } : {}),
      ...(query.processor ? { processor: query.processor } : {}),
      ...(after ? { after } : {}),
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? encodeCursor(last) : null;
    const list: TaskList = {
      tasks: page.map((record) => summaryOf(record, links)),
      next_cursor: nextCursor,
      next_url: nextCursor === null ? null : links.to(`/tasks?${searchOf({ ...query, cursor: nextCursor })}`),
    };
    res.setHeader('Cache-Control', 'no-store');
    res.vary('Accept');
    if (prefersHtml(req)) res.type('html').send(renderTaskListPage({ links, list, query, processors }));
    else res.json(list);
  });

  return router;
}

export function summaryOf(record: TaskRecord, links: Links): TaskSummary {
  return {
    task_id: record.id,
    status: record.status,
    processor: record.processor,
    progress: record.progress,
    attempts: record.attempt,
    created_at: new Date(record.createdAt).toISOString(),
    finished_at: record.finishedAt === null ? null : new Date(record.finishedAt).toISOString(),
    error: record.error,
    status_url: links.status(record.id),
    page_url: links.page(record.id),
  };
}

/** The query string of a listing: its filters (and cursor), without empty values. */
export function searchOf(query: Partial<TaskListQuery>): string {
  const params = new URLSearchParams();
  if (query.status) params.set('status', query.status);
  if (query.processor) params.set('processor', query.processor);
  if (query.limit !== undefined && query.limit !== DEFAULT_LIMIT) params.set('limit', String(query.limit));
  if (query.cursor) params.set('cursor', query.cursor);
  return params.toString();
}

function parseQuery(req: Request): TaskListQuery {
  const status = param(req, 'status');
  if (status !== undefined && !(TASK_STATUSES as readonly string[]).includes(status)) {
    throw new HttpError(400, 'invalid_query', `status must be one of ${TASK_STATUSES.join(', ')}`);
  }
  const processor = param(req, 'processor');
  if (processor !== undefined && !/^[a-z0-9_-]{1,64}$/.test(processor)) {
    throw new HttpError(400, 'invalid_query', 'processor must be a processor name (lower-case letters, digits, "_" and "-")');
  }
  const limitText = param(req, 'limit');
  const limit = limitText === undefined ? DEFAULT_LIMIT : Number(limitText);
  if (!/^\d{1,3}$/.test(limitText ?? '1') || limit < 1 || limit > MAX_LIMIT)
    throw new HttpError(400, 'invalid_query', `limit must be between 1 and ${MAX_LIMIT}`);
  return { status: status as TaskStatus | undefined, processor, limit, cursor: param(req, 'cursor') };
}

/** An empty value counts as absent: the page's filter form sends `status=` for "any". */
function param(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, 'invalid_query', `${name} must be given once`);
  return value.trim() === '' ? undefined : value.trim();
}

function encodeCursor(record: TaskRecord): string {
  return Buffer.from(`${record.createdAt}.${record.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const match = /^(\d{1,16})\.([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new HttpError(400, 'invalid_query', 'cursor is not one this gateway handed out');
  return { createdAt: Number(match[1]), id: match[2]! };
}

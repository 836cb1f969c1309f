import { isTaskId } from '../../shared/index.js';
import type { TaskRecord, TaskStore } from '../store/index.js';
import type { Client } from '../http/auth.js';
import { HttpError } from '../http/http-errors.js';

/**
 * The task a route's `:id` names: 400 for a malformed id, 404 for an unknown one — never PENDING.
 * Another API key's task is 404 too, word for word: a client must not even learn that another's
 * task exists. Admin keys (the operator's, ADMIN_KEYS) see every task, as the dashboard does.
 */
export async function loadTask(store: TaskStore, id: string, client: Client): Promise<TaskRecord> {
  if (!isTaskId(id)) throw new HttpError(400, 'invalid_task_id', 'task ids are UUIDs');
  const record = await store.get(id.toLowerCase());
  if (!record || (!client.admin && record.owner !== client.owner)) throw new HttpError(404, 'task_not_found', `no task ${id}`);
  return record;
}

/**
 * `Prefer: wait=N` (RFC 7240, as Replicate's API uses it): how long the client is willing to wait
 * for the task to finish, capped by the operator. Undefined when the client did not ask.
 */
export function preferredWaitSeconds(header: string | undefined, maxSeconds: number): number | undefined {
  const match = header ? /(?:^|[,;\s])wait\s*=\s*"?(\d{1,6})"?/i.exec(header) : null;
  if (!match) return undefined;
  return Math.min(Number(match[1]), maxSeconds);
}

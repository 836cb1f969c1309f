import { isTaskId, type EventStatus, type TaskError, type TaskStatus } from '../../shared/index.js';

/**
 * What a Celery worker's `rpc://` result backend sends to a task's reply_to queue on each state
 * change (celery/backends/rpc.py `RPCBackend.store_result`): a JSON object
 * `{task_id, status, result, traceback, children}`, correlation_id = the task id. `result` is the
 * return value on SUCCESS, `{pid, hostname}` on STARTED (sent only with `task_track_started=True`),
 * and on FAILURE, RETRY and REVOKED the exception as `{exc_type, exc_message: [args…], exc_module}`
 * (celery/backends/base.py `prepare_exception`, JSON serializer). Custom states
 * (`self.update_state(state='PROGRESS', meta=…)`) come the same way with their meta as `result`.
 */
export interface CeleryReply {
  taskId: string;
  status: string;
  result: unknown;
  traceback: string | null;
}

/** What a reply becomes: a warren task event (without its attempt, which depends on what came before), or nothing. */
export type ReplyMapping =
  { kind: 'event'; status: EventStatus; result?: unknown; error?: TaskError; progress?: number; worker?: string } | { kind: 'ignore'; reason: string };

/** The message of an error warren records: bounded, as a task event's message is. */
const MAX_ERROR_MESSAGE = 1000;

/** Parse a reply, or say why it is not one warren can read. */
export function parseCeleryReply(
  content: Buffer,
  properties: { contentType?: string | undefined; correlationId?: string | undefined },
): CeleryReply | { invalid: string } {
  const type = properties.contentType ?? 'application/json';
  if (type !== 'application/json') return { invalid: `reply is ${type}, not JSON: configure the Celery app with result_serializer='json' (the default)` };
  let body: unknown;
  try {
    body = JSON.parse(content.toString('utf8'));
  } catch {
    return { invalid: 'reply body is not valid JSON (result_compression set?)' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { invalid: 'reply is not a JSON object' };
  const { task_id: bodyId, status, result, traceback } = body as Record<string, unknown>;
  const taskId = typeof bodyId === 'string' ? bodyId : properties.correlationId;
  if (typeof taskId !== 'string' || !isTaskId(taskId)) return { invalid: 'reply names no task id warren could have made' };
  if (typeof status !== 'string') return { invalid: 'reply has no status' };
  return { taskId: taskId.toLowerCase(), status, result, traceback: typeof traceback === 'string' ? traceback : null };
}

/**
 * The warren event a Celery state change stands for. A result over `maxResultBytes` of JSON
 * (MAX_RESULT_BYTES) fails the task as result_too_large, as it would from a warren worker.
 */
export function mapCeleryReply(reply: CeleryReply, { maxResultBytes = Infinity }: { maxResultBytes?: number } = {}): ReplyMapping {
  switch (reply.status) {
    case 'STARTED': {
      const hostname = (reply.result as { hostname?: unknown } | null)?.hostname;
      return { kind: 'event', status: 'STARTED', ...(typeof hostname === 'string' ? { worker: hostname.slice(0, 200) } : {}) };
    }
    case 'SUCCESS': {
      const bytes = Buffer.byteLength(JSON.stringify(reply.result ?? null));
      if (bytes > maxResultBytes)
        return {
          kind: 'event',
          status: 'FAILURE',
          error: { code: 'result_too_large', message: `the Celery task's result is ${bytes} bytes of JSON, more than MAX_RESULT_BYTES (${maxResultBytes})` },
        };
      return { kind: 'event', status: 'SUCCESS', result: reply.result ?? null };
    }
    case 'FAILURE':
      return { kind: 'event', status: 'FAILURE', error: celeryError(reply.result) };
    case 'RETRY':
      return { kind: 'event', status: 'RETRY', error: celeryError(reply.result) };
    case 'REVOKED': {
      const reason = exceptionArgs(reply.result);
      // A task whose `expires` passed before a worker started it (warren sets none, but a Celery
      // app's own routing or signals may): nobody cancelled it, it failed to run in time — FAILURE,
      // as warren records its own expired tasks.
      if (reason === 'expired')
        return { kind: 'event', status: 'FAILURE', error: { code: 'celery_expired', message: 'no Celery worker started the task before it expired' } };
      return { kind: 'event', status: 'REVOKED', error: { code: 'revoked', message: `revoked at the Celery worker${reason ? ` (${reason})` : ''}` } };
    }
    default: {
      const progress = progressOf(reply.result);
      if (progress !== undefined) return { kind: 'event', status: 'STARTED', progress };
      return { kind: 'ignore', reason: `Celery state ${reply.status} has no warren counterpart` };
    }
  }
}

/**
 * The attempt a reply belongs to, given the latest state warren knows of the task. Celery's
 * replies carry no retry count, so it is counted here: after a RETRY, whatever comes next is the
 * following run; otherwise it is the current run (1 while nothing was recorded). The recorder's
 * order (attempt, then STARTED < RETRY < terminal) then moves STARTED → RETRY → STARTED … forward.
 */
export function attemptOfReply(known: { status: TaskStatus; attempt: number }): number {
  return known.status === 'RETRY' ? known.attempt + 1 : Math.max(1, known.attempt);
}

/** A Celery exception as warren's error: code `celery_<ExcType>`, message = the exception's message. */
export function celeryError(result: unknown): TaskError {
  const excType = (result as { exc_type?: unknown } | null)?.exc_type;
  if (typeof excType !== 'string' || excType === '') {
    const text = result === null || result === undefined ? 'the Celery task failed' : typeof result === 'string' ? result : JSON.stringify(result);
    return { code: 'celery_error', message: text.slice(0, MAX_ERROR_MESSAGE) };
  }
  const code = `celery_${excType.replace(/[^A-Za-z0-9_]+/g, '_')}`.slice(0, 100);
  return { code, message: (exceptionArgs(result) || excType).slice(0, MAX_ERROR_MESSAGE) };
}

/** `str(exc)` as Python gives it: its one argument, or its arguments' tuple written out. */
function exceptionArgs(result: unknown): string {
  const args = (result as { exc_message?: unknown } | null)?.exc_message;
  if (typeof args === 'string') return args;
  if (!Array.isArray(args)) return '';
  const parts = args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg)));
  return parts.length === 1 ? parts[0]! : parts.join(', ');
}

/**
 * Progress from a custom state's meta, by the two usual conventions: `{progress: 0..1}`, or
 * `{current, total}` as in Celery's own docs (`update_state(state='PROGRESS', meta={'current': i, 'total': n})`).
 */
function progressOf(meta: unknown): number | undefined {
  if (typeof meta !== 'object' || meta === null) return undefined;
  const { progress, current, total } = meta as Record<string, unknown>;
  if (typeof progress === 'number' && Number.isFinite(progress)) return Math.min(1, Math.max(0, progress));
  if (typeof current === 'number' && typeof total === 'number' && total > 0) return Math.min(1, Math.max(0, current / total));
  return undefined;
}

import os from 'node:os';
import type { Options } from 'amqplib';
import { parseS3Location, resolveLocation, type FileRef, type TaskInput } from '../../shared/index.js';
import type { CeleryTaskBody, CeleryTaskHeaders } from './contracts.js';
import { pythonRepr } from './python-repr.js';

/**
 * A warren task as a Celery task message, protocol v2 — what `app.send_task(name, kwargs=…,
 * task_id=…)` of Celery 5.2 puts on the wire (celery/app/amqp.py `as_task_v2`, and
 * docs.celeryq.dev "Message Protocol"), so that an unchanged Celery worker runs it:
 *   headers    lang, task, id, root_id, parent_id, group, retries, eta, expires (null), timelimit,
 *              argsrepr, kwargsrepr, origin (and shadow, group_index, ignore_result, as Celery sends)
 *   properties correlation_id = the task id, reply_to = warren's reply queue (the rpc:// backend
 *              sends every state change there), content_type application/json, utf-8, persistent
 *   body       [args, kwargs, embed] as JSON: no args, the submission's fields as kwargs.
 */
export interface CeleryTarget {
  /** The registered Celery task name, e.g. "tasks.elab_file". */
  task: string;
  /** The Celery queue its workers consume (`celery worker -Q …`). */
  queue: string;
}

export interface CeleryTaskSpec {
  taskId: string;
  target: CeleryTarget;
  input: TaskInput;
  /** The processor takes files: a `files` kwarg is passed (possibly empty). */
  takesFiles: boolean;
  /** DATA_DIR as this gateway sees it: `volume:` inputs are passed as absolute paths under it. */
  dataDir: string;
  /** The queue the worker's rpc:// backend replies to. */
  replyTo: string;
  /**
   * How long the message may wait in the Celery queue (what is left of TASK_QUEUE_TTL_MS): an AMQP
   * per-message TTL, as warren's own task queues have one. Not Celery's `expires` header: Celery
   * 5.2.6 (Debian's) cannot retry a task that has one (`'<' not supported between 'str' and 'int'`
   * in send_task), and a task would then fail on its first `self.retry()`.
   */
  queueTtlMs?: number;
  /** The processor's run timeout: Celery's hard time limit for it, in seconds (prefork pool only). */
  timeLimitSeconds?: number;
}

export interface CeleryTaskMessage {
  body: Buffer;
  properties: Options.Publish;
}

/** The kwarg that carries a task's input files. A descriptor may not also have a field of this name. */
export const FILES_KWARG = 'files';

/** Celery's kwargsrepr_maxsize: the repr is for its logs and monitors only. */
const REPR_MAX = 1024;

/** Who sent it: Celery names a client gen<pid>@<host>; this names the gateway. */
const ORIGIN = `warren-gateway-${process.pid}@${os.hostname()}`;

export function celeryTaskMessage(spec: CeleryTaskSpec): CeleryTaskMessage {
  const kwargs = celeryKwargs(spec.input, spec.takesFiles, spec.dataDir);
  const headers: CeleryTaskHeaders = {
    lang: 'py',
    task: spec.target.task,
    id: spec.taskId,
    shadow: null,
    eta: null,
    expires: null,
    group: null,
    group_index: null,
    retries: 0,
    // [hard, soft] — the order Celery 5.2's as_task_v2 writes and its worker's Request reads
    // (the protocol page says "(soft, hard)"; the code is what runs). null: the worker's own setting.
    timelimit: [spec.timeLimitSeconds ?? null, null],
    root_id: spec.taskId,
    parent_id: null,
    // Celery's args are a tuple, and warren passes none.
    argsrepr: '()',
    kwargsrepr: pythonRepr(kwargs, REPR_MAX),
    origin: ORIGIN,
    ignore_result: false,
  };
  const body: CeleryTaskBody = [[], kwargs, { callbacks: null, errbacks: null, chain: null, chord: null }];
  return {
    body: Buffer.from(JSON.stringify(body)),
    properties: {
      headers,
      correlationId: spec.taskId,
      replyTo: spec.replyTo,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      persistent: true,
      // Set, unlike Celery's own messages, so the broker's tools show whose message it is.
      messageId: spec.taskId,
      ...(spec.queueTtlMs === undefined ? {} : { expiration: String(Math.max(0, Math.round(spec.queueTtlMs))) }),
    },
  };
}

/**
 * The task's keyword arguments: its fields as the gateway validated and converted them, plus, for
 * a processor that takes files, `files` — where each input is for a Celery worker: the absolute
 * path on the shared DATA_DIR volume (mounted at the same path as on the gateway), or the
 * `s3://bucket/key` of an upload kept in S3 (UPLOAD_STORE), which the worker fetches itself.
 */
export function celeryKwargs(input: TaskInput, takesFiles: boolean, dataDir: string): Record<string, unknown> {
  if (!takesFiles) return { ...input.fields };
  return { ...input.fields, [FILES_KWARG]: input.files.map((file) => celeryFilePath(file, dataDir)) };
}

function celeryFilePath(file: FileRef, dataDir: string): string {
  if (parseS3Location(file.location)) return file.location;
  return resolveLocation(dataDir, file.location);
}

import { Type, type Static } from '@sinclair/typebox';
import { TaskId } from '../../shared/index.js';

/**
 * The messages warren exchanges with Celery workers — Celery's formats, not warren's: no `type`
 * or `version`, since an unchanged Celery 5.2 worker must read and write them. The gateway's
 * builders are typed by these schemas and the AsyncAPI document publishes them, so the two agree.
 */
const Null = Type.Null();

/** Headers of a Celery protocol v2 task message, as Celery 5.2's `as_task_v2` writes them (celery/app/amqp.py). */
export const CeleryTaskHeaders = Type.Object(
  {
    lang: Type.Literal('py'),
    task: Type.String({ description: 'The registered Celery task name, e.g. tasks.elab_file' }),
    id: TaskId,
    root_id: TaskId,
    parent_id: Null,
    group: Null,
    group_index: Null,
    shadow: Null,
    retries: Type.Integer({ minimum: 0 }),
    eta: Null,
    expires: Type.Null({ description: "Never set: Celery 5.2.6 cannot retry a task that has it. TASK_QUEUE_TTL_MS is the message's AMQP expiration instead" }),
    timelimit: Type.Tuple([Type.Union([Type.Integer({ minimum: 1 }), Null]), Null], {
      description: '[hard, soft] seconds (the order Celery 5.2 writes and reads); the hard limit is the processor timeoutMs',
    }),
    argsrepr: Type.String(),
    kwargsrepr: Type.String({ maxLength: 1024 }),
    origin: Type.String(),
    ignore_result: Type.Boolean(),
  },
  {
    $id: 'CeleryTaskHeaders',
    description:
      'AMQP headers of a Celery task message. Properties: correlation_id = id, reply_to = the reply queue, content_type application/json, content_encoding utf-8, persistent.',
  },
);
export type CeleryTaskHeaders = Static<typeof CeleryTaskHeaders>;

export const CeleryTaskBody = Type.Tuple(
  [
    Type.Array(Type.Unknown(), { maxItems: 0, description: 'args: none' }),
    Type.Record(Type.String(), Type.Unknown(), {
      description:
        'kwargs: the submission’s fields; for a processor that takes files also `files`, their absolute paths on the shared DATA_DIR volume (or s3:// locations)',
    }),
    Type.Object({ callbacks: Null, errbacks: Null, chain: Null, chord: Null }, { description: 'embed: no workflow' }),
  ],
  { $id: 'CeleryTaskBody', description: 'The body of a Celery protocol v2 task message: [args, kwargs, embed], JSON.' },
);
export type CeleryTaskBody = Static<typeof CeleryTaskBody>;

export const CeleryReply = Type.Object(
  {
    task_id: TaskId,
    status: Type.String({ description: 'STARTED (with task_track_started), SUCCESS, FAILURE, RETRY, REVOKED, or a custom state' }),
    result: Type.Unknown({
      description:
        'The return value; {pid, hostname} on STARTED; {exc_type, exc_message, exc_module} on FAILURE, RETRY and REVOKED; the meta of a custom state',
    }),
    traceback: Type.Union([Type.String(), Null]),
    children: Type.Optional(Type.Array(Type.Unknown())),
  },
  {
    $id: 'CeleryReply',
    description:
      "A state change, as a Celery worker's rpc:// result backend sends it to the task's reply_to (correlation_id = the task id), JSON (result_serializer 'json').",
  },
);
export type CeleryReply = Static<typeof CeleryReply>;

export const CeleryRevoke = Type.Object(
  {
    method: Type.Literal('revoke'),
    arguments: Type.Object({ task_id: TaskId, terminate: Type.Boolean(), signal: Type.String() }),
    destination: Null,
    pattern: Null,
    matcher: Null,
  },
  {
    $id: 'CeleryRevoke',
    description:
      "kombu's Mailbox command for app.control.revoke(task_id, terminate=True), broadcast to every worker's pidbox queue; headers {clock, expires}, transient.",
  },
);
export type CeleryRevoke = Static<typeof CeleryRevoke>;

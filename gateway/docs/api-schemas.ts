import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ProcessorName, TASK_STATUSES, TaskError, TaskId, Timestamp } from '../../shared/index.js';

/**
 * The HTTP API's bodies as TypeBox schemas. The OpenAPI document (gateway/docs/openapi.ts) publishes
 * exactly these, and the code derives its types from them where it builds the bodies
 * (task-document.ts), so the document cannot describe a shape the gateway does not send.
 * test/e2e/api-contract.test.ts checks live answers against the published document.
 *
 * Like the message contracts, the published schemas leave objects open (extra properties allowed):
 * a client must tolerate fields added later. The contract test closes them, so a field the code
 * sends but the document omits still fails it.
 */

const Url = Type.String({ description: 'Path on this gateway (under BASE_PATH)' });

export const TaskStatusName = Type.Union(
  TASK_STATUSES.map((status) => Type.Literal(status)),
  { description: 'Celery state names. SUCCESS, FAILURE and REVOKED are terminal and never change again.' },
);

export const ArtifactLink = Type.Object({
  name: Type.String({ description: 'File name, also the last segment of `url`' }),
  content_type: Type.String(),
  size: Type.Integer({ minimum: 0, description: 'Bytes' }),
  url: Url,
});

export const DeliveryStatus = Type.Object(
  {
    target: Type.String({ description: 'webhook, s3, ftp or volume' }),
    state: Type.Union([Type.Literal('PENDING'), Type.Literal('DELIVERING'), Type.Literal('DELIVERED'), Type.Literal('FAILED')], {
      description: 'PENDING until the task finishes; DELIVERING while attempts go on; DELIVERED and FAILED end a round (a redeliver starts another)',
    }),
    destination: Type.Union([Type.String(), Type.Null()], { description: 'The webhook URL, or the operator destination name (never credentials)' }),
    round: Type.Integer({ minimum: 1 }),
    attempts: Type.Integer({ minimum: 0 }),
    last_error: Type.Union([TaskError, Type.Null()]),
    last_http_status: Type.Union([Type.Integer(), Type.Null()]),
    location: Type.Union([Type.String(), Type.Null()], { description: 'Where it landed, once DELIVERED' }),
    next_attempt_at: Type.Union([Timestamp, Type.Null()]),
    delivered_at: Type.Union([Timestamp, Type.Null()]),
    attempts_url: Url,
  },
  { description: "One delivery target of a task. Delivery never changes the task's own status." },
);

export const DeliveryAttempts = Type.Object({
  task_id: TaskId,
  target: Type.String(),
  attempts: Type.Array(
    Type.Object({
      round: Type.Integer({ minimum: 1 }),
      attempt: Type.Integer({ minimum: 1 }),
      event: Type.String({ description: 'started, progress or completed (the final notification: task.completed, task.failed or task.revoked)' }),
      outcome: Type.Union([Type.Literal('DELIVERED'), Type.Literal('RETRY'), Type.Literal('FAILED'), Type.Literal('SKIPPED')], {
        description:
          'SKIPPED: a started/progress notification that was not sent, so it could not arrive after the final one (error.code superseded, notice_expired or no_free_slot)',
      }),
      at: Timestamp,
      duration_ms: Type.Integer({ minimum: 0 }),
      http_status: Type.Union([Type.Integer(), Type.Null()]),
      error: Type.Union([TaskError, Type.Null()]),
    }),
  ),
});

export const StatusDocument = Type.Object(
  {
    task_id: TaskId,
    status: TaskStatusName,
    processor: ProcessorName,
    progress: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], { description: '0..1 once a worker reports it; 1 on SUCCESS' }),
    progress_message: Type.Union([Type.String(), Type.Null()]),
    attempts: Type.Integer({ minimum: 0, description: 'How many times a worker has started the task' }),
    created_at: Timestamp,
    started_at: Type.Union([Timestamp, Type.Null()]),
    finished_at: Type.Union([Timestamp, Type.Null()]),
    error: Type.Union([TaskError, Type.Null()], { description: 'Why, on FAILURE (and REVOKED)' }),
    artifacts: Type.Array(ArtifactLink, { description: 'Output files, once the task succeeded' }),
    deliveries: Type.Array(DeliveryStatus, { description: 'Where the results go, one entry per target the submission named' }),
    expired: Type.Boolean({
      description: 'True once RESULT_TTL_SECONDS after the end have passed and the janitor removed the result and files (task_result: 410)',
    }),
    expired_at: Type.Union([Timestamp, Type.Null()]),
    status_url: Url,
    result_url: Url,
    workers: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
        description: 'task_status of an unfinished task: workers serving its processor now; 0 means it waits until one starts; null: the broker cannot say',
      }),
    ),
  },
  { description: 'What task_status answers, and what the HTML task page shows.' },
);
export type StatusDocument = Static<typeof StatusDocument>;

/** `Prefer: wait=N` on a submit that finished in time: the status document, plus the result on SUCCESS. */
export const FinishedTask = Type.Composite(
  [StatusDocument, Type.Object({ result: Type.Optional(Type.Unknown({ description: 'The JSON result, on SUCCESS' })) })],
  {
    description: 'A task that finished while the client waited (`Prefer: wait=N`): the status document, and on SUCCESS the result.',
  },
);

export const SubmitAccepted = Type.Object(
  {
    task_id: TaskId,
    status: Type.Union(
      TASK_STATUSES.map((status) => Type.Literal(status)),
      {
        description:
          'PENDING for a new task. A repeated Idempotency-Key (Idempotent-Replayed: true) answers with the first submission’s task as it is now, which may have finished',
      },
    ),
    processor: ProcessorName,
    status_url: Url,
    result_url: Url,
  },
  { description: 'The task is queued (the broker confirmed it), or was by an earlier submission with the same Idempotency-Key. `Location` is its status_url.' },
);
export type SubmitAccepted = Static<typeof SubmitAccepted>;

export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ description: 'Stable machine-readable code, e.g. task_not_found' }),
        message: Type.String({ description: 'For people; wording may change' }),
      },
      {
        additionalProperties: true,
        description: 'Some codes add details: invalid_fields → problems, unsupported_file_type → accepted, 409s → status (task_failed also task_error)',
      },
    ),
  },
  { description: 'Every 4xx/5xx answer of the JSON API. Never a stack trace.' },
);
export type ErrorEnvelope = Static<typeof ErrorEnvelope>;

export const FileSpec = Type.Object({
  accept: Type.Array(Type.String(), { description: 'MIME types, checked by sniffing the bytes' }),
  minCount: Type.Integer({ minimum: 0 }),
  maxCount: Type.Integer({ minimum: 0 }),
  maxBytes: Type.Integer({ minimum: 0, description: 'Largest single file, already capped by MAX_UPLOAD_BYTES' }),
});

export const ProcessorInfo = Type.Object({
  name: ProcessorName,
  version: Type.String(),
  description: Type.String(),
  fields: Type.Object(
    { type: Type.Literal('object') },
    { additionalProperties: true, description: 'JSON Schema of the submission fields (form values are converted to the declared types)' },
  ),
  files: Type.Union([FileSpec, Type.Null()], { description: 'The files it takes; null when none' }),
  workers: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description: 'Workers serving it now (consumers on its queue); 0: tasks wait until one starts; null: the broker cannot say',
  }),
});

export const ProcessorList = Type.Object({
  default: ProcessorName,
  processors: Type.Array(ProcessorInfo),
});
export type ProcessorList = Static<typeof ProcessorList>;

export const Liveness = Type.Object(
  { status: Type.Literal('ok'), service: Type.Literal('warren') },
  { description: 'The process answers; says nothing about the broker (see /health/ready).' },
);

export const Readiness = Type.Union(
  [
    Type.Object({ ready: Type.Literal(true) }),
    Type.Object({ ready: Type.Literal(false), problem: Type.String({ description: 'Why not, e.g. the broker is unreachable or refused the topology' }) }),
  ],
  { description: 'Ready when connected to the broker with the topology declared.' },
);

export const ArtifactListing = Type.Object(
  {
    result: Type.Unknown({ description: 'The JSON result (null when the files are the result)' }),
    artifacts: Type.Array(ArtifactLink),
  },
  { description: 'task_result with ?format=json, or when the task wrote several files.' },
);
export type ArtifactListing = Static<typeof ArtifactListing>;

export const LiveStatus = Type.Object(
  {
    task_id: TaskId,
    status: TaskStatusName,
    progress: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
    progress_message: Type.Union([Type.String(), Type.Null()]),
    attempts: Type.Integer({ minimum: 0 }),
    at: Timestamp,
  },
  { description: 'Data of a `status` server-sent event (the final `done` event carries a StatusDocument).' },
);

/** Every schema above, by the name it has in the OpenAPI document's components. */
/** One row of GET /tasks: enough to find a task; its status document has the rest. */
export const TaskSummary = Type.Object({
  task_id: TaskId,
  status: TaskStatusName,
  processor: ProcessorName,
  progress: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
  attempts: Type.Integer({ minimum: 0 }),
  created_at: Timestamp,
  finished_at: Type.Union([Timestamp, Type.Null()]),
  error: Type.Union([TaskError, Type.Null()]),
  status_url: Url,
  page_url: Url,
});
export type TaskSummary = Static<typeof TaskSummary>;

export const TaskList = Type.Object(
  {
    tasks: Type.Array(TaskSummary, { description: 'Newest first' }),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next (older) page; null on the last page' }),
    next_url: Type.Union([Url, Type.Null()], { description: 'The next page with the same filters; null on the last page' }),
  },
  { description: "The caller's tasks: with API_KEYS, those of the key asking; without, every task (all are anonymous)." },
);
export type TaskList = Static<typeof TaskList>;

export const API_SCHEMAS: Record<string, TSchema> = {
  StatusDocument,
  DeliveryStatus,
  DeliveryAttempts,
  FinishedTask,
  SubmitAccepted,
  ErrorEnvelope,
  ArtifactLink,
  ArtifactListing,
  FileSpec,
  ProcessorInfo,
  ProcessorList,
  Liveness,
  Readiness,
  LiveStatus,
  TaskSummary,
  TaskList,
};

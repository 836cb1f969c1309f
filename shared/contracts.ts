import { FormatRegistry, Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ContractError } from './errors.js';

/**
 * Message contracts v1. The TypeBox schemas are JSON Schema: the TypeScript types, the runtime
 * validators and the published AsyncAPI/OpenAPI documents all derive from these definitions, so
 * they cannot drift. Producers and consumers both validate. Unknown extra properties are allowed
 * so that a newer producer does not break an older consumer; a breaking change bumps `version`.
 */

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (value) => UUID_PATTERN.test(value));
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (value) => !Number.isNaN(Date.parse(value)) && /^\d{4}-\d\d-\d\dT/.test(value));

export function isTaskId(value: string): boolean {
  return UUID_PATTERN.test(value);
}

export const TaskId = Type.String({ format: 'uuid', description: 'Task id (UUID)' });
export const ProcessorName = Type.String({ pattern: '^[a-z][a-z0-9_-]{0,63}$', description: 'Processor name' });
export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601 timestamp' });

export const FieldValue = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);

export const FileRef = Type.Object(
  {
    name: Type.String({ description: 'Sanitised client file name, for display only' }),
    content_type: Type.String(),
    size: Type.Integer({ minimum: 0 }),
    location: Type.String({ description: 'Where the bytes are: volume:<path relative to DATA_DIR> or s3://bucket/key' }),
  },
  { $id: 'FileRef' },
);

/** Form submissions give strings; JSON submissions may give any JSON value the processor's schema accepts. */
export const TaskInput = Type.Object({
  fields: Type.Record(Type.String(), Type.Unknown()),
  files: Type.Array(FileRef),
});

export const TASK_MESSAGE_TYPE = 'warren.task';
export const TaskMessage = Type.Object(
  {
    type: Type.Literal(TASK_MESSAGE_TYPE),
    version: Type.Literal(1),
    task_id: TaskId,
    processor: ProcessorName,
    submitted_at: Timestamp,
    /** 1 for the first run; a retry republished by warren carries the next number. */
    attempt: Type.Integer({ minimum: 1 }),
    input: TaskInput,
  },
  { $id: 'TaskMessage', description: 'A unit of work, published to the tasks exchange with the processor name as routing key.' },
);
export type TaskMessage = Static<typeof TaskMessage>;
export type TaskInput = Static<typeof TaskInput>;
export type FileRef = Static<typeof FileRef>;

export const EVENT_STATUSES = ['STARTED', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED'] as const;

export const TaskError = Type.Object({
  code: Type.String(),
  message: Type.String(),
});
export type TaskError = Static<typeof TaskError>;

export const TASK_EVENT_TYPE = 'warren.task.event';
export const TaskEvent = Type.Object(
  {
    type: Type.Literal(TASK_EVENT_TYPE),
    version: Type.Literal(1),
    /** Unique per event; a republished duplicate keeps its id. */
    event_id: TaskId,
    task_id: TaskId,
    processor: ProcessorName,
    status: Type.Union(EVENT_STATUSES.map((status) => Type.Literal(status))),
    attempt: Type.Integer({ minimum: 1 }),
    at: Timestamp,
    /** 0..1 on STARTED events that report progress. */
    progress: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    message: Type.Optional(Type.String({ maxLength: 1000 })),
    /** The processor's JSON result, on SUCCESS. */
    result: Type.Optional(Type.Unknown()),
    /** Output files the processor wrote, on SUCCESS. */
    artifacts: Type.Optional(Type.Array(FileRef)),
    /** Why, on FAILURE, RETRY and REVOKED. */
    error: Type.Optional(TaskError),
    worker: Type.Optional(Type.String({ description: 'Which worker sent it, for operators' })),
  },
  { $id: 'TaskEvent', description: 'A change in a task, published by workers to the events exchange.' },
);
export type TaskEvent = Static<typeof TaskEvent>;
export type EventStatus = TaskEvent['status'];

/** A compiled validator with a decode step that names what is wrong. */
export interface Contract<T> {
  readonly schema: TSchema;
  check(value: unknown): value is T;
  /** Parse a message body; throws ContractError naming the first problems. */
  decode(body: Buffer | string): T;
  encode(value: T): Buffer;
}

export function contract<S extends TSchema>(schema: S): Contract<Static<S>> {
  const compiled: TypeCheck<S> = TypeCompiler.Compile(schema);
  return {
    schema,
    check: (value): value is Static<S> => compiled.Check(value),
    decode(body) {
      let value: unknown;
      try {
        value = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
      } catch {
        throw new ContractError('body is not valid JSON');
      }
      if (compiled.Check(value)) return value;
      const problems = [...compiled.Errors(value)].slice(0, 3).map((e) => `${e.path || '/'} ${e.message}`);
      throw new ContractError(`${schema.$id ?? 'message'} invalid: ${problems.join('; ')}`);
    },
    encode: (value) => Buffer.from(JSON.stringify(value)),
  };
}

export const taskMessages = contract(TaskMessage);
export const taskEvents = contract(TaskEvent);

export const REVOCATION_SYNC_TYPE = 'warren.revocation.sync';
export const RevocationSync = Type.Object(
  {
    type: Type.Literal(REVOCATION_SYNC_TYPE),
    version: Type.Literal(1),
    /** Unique per (re)connect of one worker; only that worker acts on it. */
    marker: TaskId,
    worker: Type.String(),
    at: Timestamp,
  },
  {
    $id: 'RevocationSync',
    description:
      'A worker appends one to the revocations stream (default exchange, routing key = the stream) each time it starts reading the stream: once it reads its own marker back, it has replayed every earlier cancel and may run tasks.',
  },
);
export type RevocationSync = Static<typeof RevocationSync>;
export const revocationSyncs = contract(RevocationSync);

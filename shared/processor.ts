import type { TObject } from '@sinclair/typebox';
import type { FileRef, TaskInput } from './contracts.js';
import type { Logger } from './logger.js';

/**
 * The processor contract: what a "model" is to warren. A descriptor (pure data, shared by the
 * gateway to validate submissions and by the worker to serve them) plus `run`. A processor knows
 * nothing of RabbitMQ, HTTP or the store.
 */
export interface FileSpec {
  /** MIME types accepted, checked by sniffing the content (not the extension or the client's claim). */
  accept: readonly string[];
  minCount: number;
  maxCount: number;
  /** Largest single file in bytes; the gateway's MAX_UPLOAD_BYTES applies when absent or larger. */
  maxBytes?: number;
}

export interface ProcessorDescriptor {
  /** Routing key and queue suffix: lower-case letters, digits, "_" and "-". */
  name: string;
  /** Bump when results change meaning; recorded with each result. */
  version: string;
  description: string;
  /** JSON Schema (TypeBox) of the submission's fields. Form strings are converted to the declared types. */
  fields: TObject;
  /** The files it takes; absent means none. */
  files?: FileSpec;
  /** Longest a run may take before it is aborted and fails as timed out (default TASK_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Runs before a transient failure is final (default TASK_MAX_ATTEMPTS); 1 means never retry. */
  maxAttempts?: number;
  /**
   * Tasks of this processor one worker runs at once: the prefetch on its queue (default
   * WORKER_CONCURRENCY, which also caps it; PROCESSOR_CONCURRENCY overrides it). Set it lower for
   * work that needs a core or much memory per task, so waiting tasks stay in the queue, where
   * other workers can take them.
   */
  concurrency?: number;
  /**
   * Served by an existing Celery worker: the gateway publishes a Celery task message (kwargs = the
   * fields) for `task` to `queue` (default "celery"), and turns the worker's rpc:// replies into
   * task events (gateway/celery/). Only JSON descriptors carry it.
   */
  celery?: { task: string; queue: string };
}

export interface ArtifactWriter {
  /**
   * Write an output file for this task. It is served by task_result (with its content type) and
   * delivered with the result. `name` is sanitised; writing the same name twice replaces it.
   */
  write(name: string, data: string | Uint8Array, contentType: string): Promise<FileRef>;
}

export interface ProcessorContext {
  taskId: string;
  attempt: number;
  /** Task-scoped logger: every line carries the task id. */
  log: Logger;
  /** Report progress 0..1 with an optional message; throttled and sent as STARTED events. */
  progress(fraction: number, message?: string): void;
  /** Aborted on cancel, timeout or worker shutdown: stop work and throw. */
  signal: AbortSignal;
  /** Where an input file's bytes are: a local path, read-only (on the shared volume, or downloaded from S3 for this run). */
  filePath(file: FileRef): string;
  artifacts: ArtifactWriter;
  /**
   * The largest JSON result this run may return (MAX_RESULT_BYTES); a larger one fails the task as
   * result_too_large. A processor that can tell early that its result will not fit may fail at
   * once instead of building it; large outputs belong in `artifacts`.
   */
  maxResultBytes: number;
}

export interface Processor extends ProcessorDescriptor {
  /** Load models and start helpers once per worker process, before the first task. */
  setup?(log: Logger): Promise<void>;
  /** Release what setup acquired (worker shutdown). */
  teardown?(): Promise<void>;
  /**
   * Returns the JSON result (or null when the artifacts are the result). Throw PermanentError for
   * bad input (fail now); anything else is a failure of the run. Must not block the event loop for
   * long: CPU-heavy work belongs in worker threads.
   */
  run(input: TaskInput, ctx: ProcessorContext): Promise<unknown>;
  /**
   * Batched inference: with `batch` set, the runner gathers up to `maxSize` tasks that arrive within
   * `maxWaitMs` of the first and calls runBatch once for them (a model is often as fast on 16
   * inputs as on one). It returns one result per input, in order; an Error in a slot fails that task
   * alone (a PermanentError for good, anything else retried), and a throw fails every task of the
   * batch. Each task keeps its own events, timeout, cancel (its ctx.signal), retries and ack.
   */
  runBatch?(inputs: readonly TaskInput[], ctxs: readonly ProcessorContext[]): Promise<readonly unknown[]>;
  batch?: BatchSpec;
}

/** How a batching processor's tasks are gathered (see Processor.runBatch). */
export interface BatchSpec {
  /** Most tasks in one call. */
  maxSize: number;
  /** Longest the first task of a batch waits for others. */
  maxWaitMs: number;
}

import type { TObject } from '@sinclair/typebox';
import type { TaskInput } from './contracts.js';
import type { Logger } from './logger.js';

/**
 * The processor contract: what a "model" is to warren. A descriptor (pure data, shared by the
 * gateway to validate submissions and by the worker to serve them) plus `run`. A processor knows
 * nothing of RabbitMQ, HTTP or the store.
 */
export interface ProcessorDescriptor {
  /** Routing key and queue suffix: lower-case letters, digits, "_" and "-". */
  name: string;
  /** Bump when results change meaning; recorded with each result. */
  version: string;
  description: string;
  /** JSON Schema (TypeBox) of the submission's fields. Form strings are converted to the declared types. */
  fields: TObject;
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
}

export interface Processor extends ProcessorDescriptor {
  /** Returns the JSON result. Throw PermanentError for bad input; anything else is a failure of the run. */
  run(input: TaskInput, ctx: ProcessorContext): Promise<unknown>;
}

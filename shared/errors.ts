/**
 * The error family every layer speaks. A `code` is stable and machine-readable (it is what HTTP
 * clients see in the envelope and what events carry); the message is for people.
 */
export class WarrenError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad input or a request that can never succeed: fail now, never retry. */
export class PermanentError extends WarrenError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'permanent_error', message, options);
  }
}

/** A configuration value is missing or wrong; the process must not start. */
export class ConfigError extends WarrenError {
  readonly variable: string;

  constructor(variable: string, message: string) {
    super('config_error', `${variable}: ${message}`);
    this.variable = variable;
  }
}

/** A message from the broker does not match its contract. */
export class ContractError extends WarrenError {
  constructor(message: string) {
    super('contract_violation', message);
  }
}

/** The broker did not take a message (no confirm, a nack, or no connection). */
export class PublishError extends WarrenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('broker_unavailable', message, options);
  }
}

/** A message larger than this process may publish: a permanent failure of whatever produced it. */
export class MessageTooLargeError extends PermanentError {
  constructor(bytes: number, max: number) {
    super(`a message of ${bytes} bytes is larger than the ${max} this process publishes (MAX_RESULT_BYTES + 1 MiB)`, { code: 'message_too_large' });
  }
}

/**
 * The reason a worker aborts the work in flight when it stops: the runner and the deliverers
 * requeue what it interrupts, rather than count it as a failure.
 */
export class ShutdownAbort extends WarrenError {
  constructor() {
    super('shutting_down', 'worker shutting down');
  }
}

/** Wrap anything thrown into a WarrenError exactly once, at a boundary. */
export function coerceError(thrown: unknown): WarrenError {
  if (thrown instanceof WarrenError) return thrown;
  if (thrown instanceof Error) {
    const wrapped = new WarrenError('internal_error', thrown.message, { cause: thrown });
    if (thrown.stack) wrapped.stack = thrown.stack;
    return wrapped;
  }
  return new WarrenError('internal_error', typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
}

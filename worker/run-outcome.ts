import { PermanentError } from '../shared/index.js';

/** How a run ends, apart from its result: cancelled, timed out, failed for good or not, or with a result that cannot be sent. */
/** The task was cancelled: its record is REVOKED already; nothing more is published. */
export class RevokedAbort extends Error {
  constructor() {
    super('task cancelled');
  }
}

/** The run outlived its processor's timeout: a permanent failure of this task. */
export class RunTimeout extends PermanentError {
  constructor(ms: number) {
    super(`timed out after ${ms} ms`, { code: 'timed_out' });
  }
}

/**
 * Bad input fails at once; anything else may pass on a retry. Processors outside this code base
 * may mark an error permanent with `permanent: true` instead of throwing our PermanentError.
 */
export function isPermanent(thrown: unknown): boolean {
  return thrown instanceof PermanentError || (typeof thrown === 'object' && thrown !== null && (thrown as { permanent?: unknown }).permanent === true);
}

/**
 * A result must be JSON and at most `maxBytes` of it: the SUCCESS event carries it through
 * RabbitMQ (whose max_message_size is 128 MiB on 3.x and 16 MiB on 4.x), into the store and every
 * delivery job. Too large a result is the processor's to write as a file (ctx.artifacts).
 */
export function checkResult(result: unknown, maxBytes: number): void {
  let json: string;
  try {
    json = JSON.stringify(result ?? null);
  } catch (err) {
    // V8 refuses strings over ~512 MiB: that result is too large whatever the bound.
    if (err instanceof RangeError)
      throw new PermanentError(`the result is larger than ${maxBytes} bytes of JSON (MAX_RESULT_BYTES); write large outputs as files with ctx.artifacts`, {
        code: 'result_too_large',
      });
    throw new PermanentError(`the result is not JSON: ${err instanceof Error ? err.message : String(err)}`, { code: 'result_not_json' });
  }
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) {
    throw new PermanentError(
      `the result is ${bytes} bytes of JSON, more than MAX_RESULT_BYTES (${maxBytes}); write large outputs as files with ctx.artifacts`,
      { code: 'result_too_large' },
    );
  }
}

/** Rejects when `signal` aborts, so a run that ignores its signal is abandoned, not awaited forever. */
export function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
}

import { WarrenError } from '../../shared/index.js';

/**
 * A delivery attempt that did not land. `permanent` stops retries at once (a webhook's 410, an
 * unknown destination); anything else is retried on the delivery schedule. `retryAfterMs` is the
 * receiver's own wish (Retry-After), honoured by picking a long enough backoff tier.
 * Messages must never contain credentials.
 */
export class DeliveryError extends WarrenError {
  readonly permanent: boolean;
  readonly httpStatus: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, options: { permanent?: boolean; httpStatus?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(code, message, { cause: options.cause });
    this.permanent = options.permanent ?? false;
    this.httpStatus = options.httpStatus;
    this.retryAfterMs = options.retryAfterMs;
  }
}

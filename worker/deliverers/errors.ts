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

/** A destination name the operator did not configure: no retry can make it appear. */
export function unknownDestination(kind: 's3' | 'ftp', name: string | undefined): DeliveryError {
  const variable = kind === 's3' ? 'S3_DESTINATIONS' : 'FTP_DESTINATIONS';
  const what = name === undefined ? 'no destination was named' : `destination "${name}" is not configured`;
  return new DeliveryError('unknown_destination', `${kind}: ${what} (see ${variable})`, { permanent: true });
}

/** An output file the task reported is not on the shared volume (expired or removed): redelivery cannot help. */
export function artifactMissing(name: string): DeliveryError {
  return new DeliveryError('artifact_missing', `artifact "${name}" is missing from the shared volume`, { permanent: true });
}

/** Shutdown or the delivery's timeout stopped the attempt; the delivery itself may well succeed next time. */
export function deliveryAborted(cause?: unknown): DeliveryError {
  return new DeliveryError('aborted', 'delivery was aborted (shutdown or timeout)', { cause });
}

/**
 * The server refused the credentials. Transient on purpose: the operator can fix them and the
 * pending deliveries then go through; the message says so, so nobody waits for it to heal itself.
 */
export function accessDenied(where: string, detail: string, options: { httpStatus?: number; cause?: unknown } = {}): DeliveryError {
  return new DeliveryError('access_denied', `${where} refused access (${detail}): check the credentials and permissions configured for it; retrying`, options);
}

/** Removes every occurrence of a secret from text that came from a server or a library. */
export function scrub(text: string, secrets: readonly (string | undefined)[]): string {
  return secrets.reduce<string>((clean, secret) => (secret && secret.length >= 3 ? clean.split(secret).join('***') : clean), text);
}

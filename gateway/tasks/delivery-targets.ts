import { UrlRefused, WEBHOOK_EVENTS, type DeliveryTarget, type UrlGuard, type WebhookEvent } from '../../shared/index.js';
import { isErrorCode } from '../http/error-codes.js';
import { HttpError } from '../http/http-errors.js';

/**
 * Where a submission asks its results to go. Flat keys, so a form and a JSON body say it alike:
 *   webhook_url=https://…  [webhook_events=started,progress,completed]   (default: completed)
 *   s3=<destination>       [s3_prefix=a/b]
 *   ftp=<destination>      [ftp_path=a/b]
 *   volume=true            [volume_path=a/b]
 * Destinations are names the operator configured; credentials never come from clients.
 */
export const DELIVERY_KEYS: ReadonlySet<string> = new Set(['webhook_url', 'webhook_events', 's3', 's3_prefix', 'ftp', 'ftp_path', 'volume', 'volume_path']);

export interface TargetOptions {
  webhooksEnabled: boolean;
  s3Destinations: readonly string[];
  ftpDestinations: readonly string[];
  guard: UrlGuard;
}

export interface RequestedTarget {
  targetId: string;
  target: DeliveryTarget;
}

const SUB_PATH = /^([A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*)?$/;

export async function parseTargets(body: Record<string, unknown>, options: TargetOptions): Promise<RequestedTarget[]> {
  const targets: RequestedTarget[] = [];
  const text = (key: string): string | undefined => {
    const value = body[key];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string' && typeof value !== 'boolean') throw bad(`"${key}" must be a string`);
    return String(value).trim();
  };

  const url = text('webhook_url');
  if (url !== undefined) {
    if (!options.webhooksEnabled) throw new HttpError(400, 'webhooks_disabled', 'this gateway has no WEBHOOK_SECRET configured, so it sends no webhooks');
    try {
      await options.guard.check(url);
    } catch (err) {
      // The guard's codes are part of the API (error-codes.ts); one it might add later stays a 400.
      if (err instanceof UrlRefused) throw new HttpError(400, isErrorCode(err.code) ? err.code : 'invalid_webhook_url', err.message);
      throw err;
    }
    targets.push({ targetId: 'webhook', target: { kind: 'webhook', url, events: webhookEvents(body.webhook_events) } });
  } else if (body.webhook_events !== undefined && body.webhook_events !== '') {
    throw bad('"webhook_events" needs a "webhook_url"');
  }

  for (const [kind, pathKey, known, variable] of [
    ['s3', 's3_prefix', options.s3Destinations, 'S3_DESTINATIONS'],
    ['ftp', 'ftp_path', options.ftpDestinations, 'FTP_DESTINATIONS'],
  ] as const) {
    const destination = text(kind);
    const path = subPath(text(pathKey), pathKey);
    if (destination === undefined) {
      if (path) throw bad(`"${pathKey}" needs "${kind}"`);
      continue;
    }
    if (!known.includes(destination)) {
      const names = known.length ? `configured: ${known.join(', ')}` : `none is configured (${variable})`;
      throw new HttpError(400, 'unknown_destination', `no ${kind} destination "${destination.slice(0, 64)}"; ${names}`);
    }
    targets.push({ targetId: kind, target: { kind, destination, path } });
  }

  const volume = text('volume');
  const volumePath = subPath(text('volume_path'), 'volume_path');
  if (volume !== undefined && !['false', '0', 'off', 'no'].includes(volume.toLowerCase())) {
    if (!['true', '1', 'on', 'yes'].includes(volume.toLowerCase())) throw bad('"volume" must be true or false');
    targets.push({ targetId: 'volume', target: { kind: 'volume', path: volumePath } });
  } else if (volumePath) {
    throw bad('"volume_path" needs volume=true');
  }
  return targets;
}

function webhookEvents(raw: unknown): WebhookEvent[] {
  if (raw === undefined || raw === null || raw === '') return ['completed'];
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
  if (!list) throw bad('"webhook_events" must be a list such as started,progress,completed');
  const events = [...new Set(list.map((e) => String(e).trim()).filter(Boolean))];
  const unknown = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (unknown.length) throw bad(`unknown webhook events: ${unknown.join(', ').slice(0, 100)}; known: ${WEBHOOK_EVENTS.join(', ')}`);
  return events as WebhookEvent[];
}

function subPath(value: string | undefined, key: string): string {
  if (value === undefined) return '';
  const trimmed = value.replace(/^\/+|\/+$/g, '');
  if (trimmed.length > 200 || !SUB_PATH.test(trimmed) || trimmed.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw bad(`"${key}" must be a relative path of letters, digits, ".", "-" and "_" segments`);
  }
  return trimmed;
}

function bad(message: string): HttpError {
  return new HttpError(400, 'invalid_delivery', message);
}

/** The gateway's origin as a request reached it (its scheme as Express trusts it, and Host); undefined if unusable. */
export function requestOrigin(protocol: string, host: string | undefined): string | undefined {
  try {
    const origin = new URL(`${protocol}://${host ?? ''}`).origin;
    return /^https?:\/\/[^/?#@]+$/.test(origin) ? origin : undefined;
  } catch {
    return undefined;
  }
}

/** Without PUBLIC_URL, a webhook's links are made absolute from where its submitter reached the gateway. */
export function withGatewayUrl(targets: RequestedTarget[], origin: string | undefined): RequestedTarget[] {
  if (origin === undefined) return targets;
  return targets.map((t) => (t.target.kind === 'webhook' ? { ...t, target: { ...t.target, gateway_url: origin } } : t));
}

import axios from 'axios';
import { Webhook } from 'standardwebhooks';
import { UrlRefused, type DeliveryJob, type UrlGuard } from '../../shared/index.js';
import { connectLimitedAgents, isConnectTimeout } from './connect-timeout.js';
import { DeliveryError } from './errors.js';

/**
 * Webhooks in the Standard Webhooks format: `webhook-id` (the same on every retry of one
 * notification, so receivers dedupe), `webhook-timestamp`, `webhook-signature` (HMAC-SHA256 with the
 * operator's whsec_ secret, by the standardwebhooks package). Body:
 *   { "type": "task.started" | "task.progress" | "task.completed" | "task.failed" | "task.revoked", "timestamp": ISO, "data": <status document> }
 * The final notification (subscribed to as `completed`) is typed by how the task ended: SUCCESS →
 * task.completed (as it always was), FAILURE → task.failed, REVOKED → task.revoked; `data.status`
 * always agrees with the type. `data.result` is inline when it is small, else only `data.result_url`.
 * 2xx delivers; 410 stops for good; anything else (timeouts, 5xx, other 4xx, redirects — never
 * followed) is retried, honouring Retry-After.
 */
export interface WebhookOptions {
  secret: string;
  /** The whole request, from the name lookup to the last byte of the answer (WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  /** The name lookup, then the connection (TCP, TLS), each (WEBHOOK_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
  guard: UrlGuard;
  /** Results larger than this (as JSON) are left out of the body (default 64 KiB). */
  maxInlineResultBytes?: number;
}

export interface WebhookDeliverer {
  deliver(job: DeliveryJob, signal: AbortSignal): Promise<{ httpStatus: number; location: string }>;
  close(): void;
}

export function createWebhookDeliverer({ secret, timeoutMs, connectTimeoutMs, guard, maxInlineResultBytes = 65_536 }: WebhookOptions): WebhookDeliverer {
  const signer = new Webhook(secret);
  // The guard's lookup pins each connection to addresses it has just checked. No keep-alive: a
  // receiver may close an idle connection just as we reuse it (ECONNRESET), which would cost a
  // completed notification a retry and a started/progress one its only attempt.
  const agents = connectLimitedAgents({ keepAlive: false, lookup: guard.lookup }, connectTimeoutMs);

  return {
    async deliver(job, signal) {
      if (job.target.kind !== 'webhook') throw new DeliveryError('wrong_target', `not a webhook target: ${job.target.kind}`, { permanent: true });
      const url = job.target.url;
      // One deadline for the whole request: axios's own timeout stops at the response headers, so
      // a receiver trickling its body could otherwise hold the slot for as long as it liked.
      const deadline = AbortSignal.timeout(timeoutMs);
      try {
        await withinConnectTimeout(guard.check(url), connectTimeoutMs);
      } catch (err) {
        // DNS may have changed since the submit; a refused address is for good.
        if (err instanceof UrlRefused) throw new DeliveryError(err.code, err.message, { permanent: err.code !== 'webhook_url_unresolvable' });
        throw err;
      }
      const body = JSON.stringify(payload(job, maxInlineResultBytes));
      const sentAt = new Date();
      let response;
      try {
        response = await axios.post<string>(url, body, {
          headers: {
            'content-type': 'application/json',
            'user-agent': 'warren-webhooks/1',
            'webhook-id': job.delivery_id,
            'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
            'webhook-signature': signer.sign(job.delivery_id, sentAt, body),
          },
          maxRedirects: 0,
          proxy: false,
          httpAgent: agents.http,
          httpsAgent: agents.https,
          signal: AbortSignal.any([signal, deadline]),
          responseType: 'text',
          transformResponse: (data: unknown) => data,
          maxContentLength: 65_536,
          validateStatus: () => true,
        });
      } catch (err) {
        if (deadline.aborted && !signal.aborted)
          throw new DeliveryError('webhook_timeout', `the receiver did not answer within ${timeoutMs} ms`, { cause: err });
        if (isConnectTimeout(err))
          throw new DeliveryError('webhook_connect_timeout', `no connection to the receiver within ${connectTimeoutMs} ms`, { cause: err });
        const message = err instanceof Error ? err.message : String(err);
        throw new DeliveryError('webhook_unreachable', `webhook request failed: ${message.slice(0, 300)}`, { cause: err });
      }
      const status = response.status;
      if (status >= 200 && status < 300) return { httpStatus: status, location: url };
      const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      if (status === 410) throw new DeliveryError('webhook_gone', 'the receiver answered 410 Gone: no more attempts', { permanent: true, httpStatus: status });
      if (status >= 300 && status < 400)
        throw new DeliveryError('webhook_redirect', `the receiver answered ${status}; redirects are not followed`, { httpStatus: status });
      throw new DeliveryError('webhook_status', `the receiver answered ${status}`, {
        httpStatus: status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

function payload(job: DeliveryJob, maxInlineResultBytes: number): { type: string; timestamp: string; data: Record<string, unknown> } {
  const data: Record<string, unknown> = { ...job.document };
  if (job.event === 'completed' && 'result' in job) {
    const size = Buffer.byteLength(JSON.stringify(job.result ?? null));
    if (size <= maxInlineResultBytes) data.result = job.result ?? null;
    else data.result_too_large = true;
  }
  return { type: eventType(job), timestamp: new Date().toISOString(), data };
}

const FINAL_TYPES: Readonly<Record<string, string>> = { SUCCESS: 'task.completed', FAILURE: 'task.failed', REVOKED: 'task.revoked' };

/** The body's `type`: the notification, and for the final one how the task ended. */
export function eventType(job: Pick<DeliveryJob, 'event' | 'document'>): string {
  if (job.event !== 'completed') return `task.${job.event}`;
  return FINAL_TYPES[String(job.document.status)] ?? 'task.completed';
}

/** A name lookup that takes longer than a connection may is a connect timeout too (it cannot be cancelled, only left behind). */
async function withinConnectTimeout<T>(lookup: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeliveryError('webhook_connect_timeout', `the receiver's name did not resolve within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([lookup, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
function parseRetryAfter(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

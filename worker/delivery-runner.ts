import type { ConsumeMessage } from 'amqplib';
import {
  ACK,
  coerceError,
  deliveryEvent,
  deliveryJobs,
  publishDeliveryEvent,
  publishDeliveryJob,
  type Broker,
  type ConsumeOutcome,
  type DeliveryJob,
  type Logger,
} from '../shared/index.js';
import { DeliveryError } from './deliverers/errors.js';
import type { FileDeliverer } from './deliverers/types.js';
import type { WebhookDeliverer } from './deliverers/webhook.js';

/**
 * Deliverers, as consumers of the deliveries queue, apart from the processors: a dead endpoint
 * never blocks model work. One job is one attempt: its outcome goes to the events exchange
 * (DeliveryEvent, for the recorder), and a transient failure republishes the job (attempt + 1) to a
 * backoff tier whose TTL hands it back later — the broker waits, no consumer sleeps. Both are
 * confirmed before the job is acked.
 */
export interface DeliveryRunnerDeps {
  broker: Broker;
  concurrency: number;
  logger: Logger;
  dataDir: string;
  /** Attempts of a `completed` delivery before it is FAILED (DELIVERY_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Undefined when this worker has no WEBHOOK_SECRET: webhook jobs fail with a clear reason. */
  webhook: WebhookDeliverer | undefined;
  files: readonly FileDeliverer[];
  /** Longest file delivery attempt. */
  fileTimeoutMs?: number;
}

class ShutdownAbort extends Error {}

/**
 * The backoff tier after a failed `attempt`: the schedule's (the last repeats), or a longer one if
 * the receiver asked for more time (Retry-After) — the shortest tier that waits at least that long,
 * else the longest there is.
 */
export function backoffTier<T extends { delayMs: number }>(tiers: readonly T[], attempt: number, retryAfterMs?: number): T | undefined {
  if (tiers.length === 0) return undefined;
  let index = Math.min(attempt - 1, tiers.length - 1);
  if (retryAfterMs !== undefined) {
    const wanted = tiers.findIndex((tier) => tier.delayMs >= retryAfterMs);
    index = Math.max(index, wanted === -1 ? tiers.length - 1 : wanted);
  }
  return tiers[index];
}

export function startDeliveryRunner({ broker, concurrency, logger, dataDir, maxAttempts, webhook, files, fileTimeoutMs = 15 * 60_000 }: DeliveryRunnerDeps): { stop(graceMs: number): Promise<void> } {
  const running = new Set<AbortController>();
  const byKind = new Map(files.map((deliverer) => [deliverer.kind, deliverer]));

  const attemptDelivery = async (job: DeliveryJob, signal: AbortSignal, log: Logger): Promise<{ location: string; httpStatus?: number }> => {
    if (job.target.kind === 'webhook') {
      if (!webhook) throw new DeliveryError('webhooks_disabled', 'this worker has no WEBHOOK_SECRET, so it cannot sign webhooks', { permanent: true });
      return webhook.deliver(job, signal);
    }
    const deliverer = byKind.get(job.target.kind);
    if (!deliverer) throw new DeliveryError('target_unavailable', `this worker cannot deliver to ${job.target.kind}`, { permanent: true });
    const timeout = AbortSignal.timeout(fileTimeoutMs);
    return deliverer.deliver(
      { taskId: job.task_id, status: job.document, ...('result' in job ? { result: job.result } : {}), artifacts: job.artifacts },
      { ...('destination' in job.target ? { destination: job.target.destination } : {}), path: job.target.path },
      { dataDir, signal: AbortSignal.any([signal, timeout]), log },
    );
  };

  const report = (job: DeliveryJob, fields: Parameters<typeof deliveryEvent>[1]): Promise<void> => publishDeliveryEvent(broker, deliveryEvent(job, fields));

  const handle = async (message: ConsumeMessage): Promise<ConsumeOutcome> => {
    let job: DeliveryJob;
    try {
      job = deliveryJobs.decode(message.content);
    } catch (err) {
      return { kind: 'dead-letter', reason: coerceError(err).message };
    }
    const log = logger.child({ taskId: job.task_id, target: job.target_id, event: job.event, attempt: job.attempt });
    const controller = new AbortController();
    running.add(controller);
    const began = Date.now();
    try {
      const { location, httpStatus } = await attemptDelivery(job, controller.signal, log);
      await report(job, { outcome: 'DELIVERED', duration_ms: Date.now() - began, location, ...(httpStatus === undefined ? {} : { http_status: httpStatus }) });
      log.info({ ms: Date.now() - began, location: job.target.kind === 'webhook' ? undefined : location }, 'delivered');
      return ACK;
    } catch (thrown) {
      if (controller.signal.reason instanceof ShutdownAbort) return { kind: 'requeue', reason: 'worker shut down mid-delivery' };
      const error = thrown instanceof DeliveryError ? thrown : new DeliveryError('delivery_error', coerceError(thrown).message, { cause: thrown });
      const failure = { duration_ms: Date.now() - began, error: { code: error.code, message: error.message.slice(0, 1000) }, ...(error.httpStatus === undefined ? {} : { http_status: error.httpStatus }) };
      // started/progress notifications are courtesies: one attempt, never retried.
      const tier = error.permanent || job.event !== 'completed' || job.attempt >= maxAttempts ? undefined : backoffTier(broker.topology.deliveryRetryTiers, job.attempt, error.retryAfterMs);
      if (!tier) {
        await report(job, { outcome: 'FAILED', ...failure });
        log.warn({ code: error.code, err: error.message }, 'delivery failed for good');
        return ACK;
      }
      await publishDeliveryJob(broker, { ...job, attempt: job.attempt + 1 }, tier.exchange);
      await report(job, { outcome: 'RETRY', ...failure, next_attempt_at: new Date(Date.now() + tier.delayMs).toISOString() });
      log.info({ code: error.code, err: error.message, retryInMs: tier.delayMs }, 'delivery failed; retrying');
      return ACK;
    } finally {
      running.delete(controller);
    }
  };

  const consumer = broker.consume(broker.topology.queues.deliveries, concurrency, handle);
  logger.info({ concurrency, targets: ['webhook', ...byKind.keys()] }, 'deliverers consuming');
  return {
    async stop(graceMs) {
      const timer = setTimeout(() => {
        for (const controller of running) controller.abort(new ShutdownAbort());
      }, graceMs);
      try {
        await consumer.stop();
      } finally {
        clearTimeout(timer);
      }
      webhook?.close();
      for (const deliverer of files) await deliverer.close?.();
    },
  };
}

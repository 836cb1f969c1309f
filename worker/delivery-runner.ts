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
  ShutdownAbort,
} from '../shared/index.js';
import { DeliveryError } from './deliverers/errors.js';
import type { FileDeliverer } from './deliverers/types.js';
import type { WebhookDeliverer } from './deliverers/webhook.js';
import { DeliveryScheduler, lanesOf, type DeliveryLimits } from './delivery-scheduler.js';
import type { DeliveryMetrics } from './delivery-metrics.js';

/**
 * Deliverers, as consumers of the deliveries queue, apart from the processors: a dead endpoint
 * never blocks model work. One job is one attempt: its outcome goes to the events exchange
 * (DeliveryEvent, for the recorder), and a transient failure republishes the job (attempt + 1) to a
 * backoff tier whose TTL hands it back later — the broker waits, no consumer sleeps. Both are
 * confirmed before the job is acked.
 *
 * Before it runs, a job gets a slot from the scheduler, which keeps one key or one destination from
 * taking them all (worker/delivery-scheduler.ts). A job it defers goes to a backoff tier the same
 * way, unattempted: same attempt number, one more deferral, no event.
 */
export interface DeliveryRunnerDeps {
  broker: Broker;
  /** Slots, and the shares of them one key or one destination may hold. */
  limits: DeliveryLimits;
  logger: Logger;
  dataDir: string;
  /** Attempts of a `completed` delivery before it is FAILED (DELIVERY_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Undefined when this worker has no WEBHOOK_SECRET: webhook jobs fail with a clear reason. */
  webhook: WebhookDeliverer | undefined;
  files: readonly FileDeliverer[];
  /** Longest file delivery attempt. */
  fileTimeoutMs?: number;
  metrics?: DeliveryMetrics;
}

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

/**
 * The tier for a job's `deferrals`-th deferral: the schedule's, as for attempts, so a backlog at a
 * dead endpoint comes back less and less often (every pass costs a publish), but never beyond the
 * first tier of a minute or more (2 min by default): a backlog must not sleep for hours after its
 * endpoint is back.
 */
export function deferralTier<T extends { delayMs: number }>(tiers: readonly T[], deferrals: number): T | undefined {
  const longest = tiers.findIndex((tier) => tier.delayMs >= 60_000);
  return tiers[Math.min(deferrals - 1, longest === -1 ? tiers.length - 1 : longest)];
}

/** Error codes of attempts that ran out of time: a destination that keeps producing them gets one slot. */
const TIMED_OUT = new Set(['webhook_timeout', 'webhook_connect_timeout', 'delivery_timeout']);

export function startDeliveryRunner({
  broker,
  limits,
  logger,
  dataDir,
  maxAttempts,
  webhook,
  files,
  fileTimeoutMs = 15 * 60_000,
  metrics,
}: DeliveryRunnerDeps): {
  stop(graceMs: number): Promise<void>;
} {
  const running = new Set<AbortController>();
  const byKind = new Map(files.map((deliverer) => [deliverer.kind, deliverer]));
  const tiers = broker.topology.deliveryRetryTiers;
  const scheduler = new DeliveryScheduler(limits, tiers.length > 0);
  // Jobs waiting for a slot belong to the channel that delivered them; after a reconnect the broker
  // delivers them again, so the old copies must not run.
  broker.onDisconnect(() => scheduler.abandonWaiting());

  const attemptDelivery = async (job: DeliveryJob, signal: AbortSignal, log: Logger): Promise<{ location: string; httpStatus?: number }> => {
    if (job.target.kind === 'webhook') {
      if (!webhook) throw new DeliveryError('webhooks_disabled', 'this worker has no WEBHOOK_SECRET, so it cannot sign webhooks', { permanent: true });
      return webhook.deliver(job, signal);
    }
    const deliverer = byKind.get(job.target.kind);
    if (!deliverer) throw new DeliveryError('target_unavailable', `this worker cannot deliver to ${job.target.kind}`, { permanent: true });
    const timeout = AbortSignal.timeout(fileTimeoutMs);
    try {
      return await deliverer.deliver(
        { taskId: job.task_id, status: job.document, ...('result' in job ? { result: job.result } : {}), artifacts: job.artifacts },
        { ...('destination' in job.target ? { destination: job.target.destination } : {}), path: job.target.path },
        { dataDir, signal: AbortSignal.any([signal, timeout]), log },
      );
    } catch (err) {
      if (timeout.aborted && !signal.aborted) throw new DeliveryError('delivery_timeout', `the delivery took longer than ${fileTimeoutMs} ms`, { cause: err });
      throw err;
    }
  };

  const report = (job: DeliveryJob, fields: Parameters<typeof deliveryEvent>[1]): Promise<void> => publishDeliveryEvent(broker, deliveryEvent(job, fields));

  /**
   * A started/progress notification not sent at all. The gateway holds the final one back only for
   * as long as this one's window lasts, so it must go now or never: a deferred or late one could
   * arrive after the final one.
   */
  const skip = async (job: DeliveryJob, code: string, message: string, log: Logger): Promise<ConsumeOutcome> => {
    await report(job, { outcome: 'SKIPPED', duration_ms: 0, error: { code, message } });
    metrics?.outcomes.labels(job.target.kind, 'skipped').inc();
    log.info({ code }, 'notification skipped');
    return ACK;
  };

  /** Back to the broker unattempted, for a while: the prefetch slot it held goes to the jobs behind it. */
  const defer = async (job: DeliveryJob, log: Logger): Promise<ConsumeOutcome> => {
    if (job.event !== 'completed') return skip(job, 'no_free_slot', 'every slot its receiver may hold was busy, and it could not wait', log);
    metrics?.outcomes.labels(job.target.kind, 'deferred').inc();
    const deferrals = (job.deferrals ?? 0) + 1;
    const tier = deferralTier(tiers, deferrals)!;
    await publishDeliveryJob(broker, { ...job, deferrals }, tier.exchange);
    log.debug({ deferrals, retryInMs: tier.delayMs }, 'delivery deferred: its key or destination runs as many as it may');
    return ACK;
  };

  const handle = async (message: ConsumeMessage): Promise<ConsumeOutcome> => {
    let job: DeliveryJob;
    try {
      job = deliveryJobs.decode(message.content);
    } catch (err) {
      return { kind: 'dead-letter', reason: coerceError(err).message };
    }
    const log = logger.child({ taskId: job.task_id, target: job.target_id, event: job.event, attempt: job.attempt });
    const admission = await scheduler.admit(lanesOf(job));
    if (admission.kind === 'abandon') return { kind: 'requeue', reason: 'the worker stopped, or lost its channel, before the delivery had a slot' };
    if (admission.kind === 'defer') return defer(job, log);
    if (job.expires_at !== undefined && Date.parse(job.expires_at) < Date.now()) {
      admission.finish({ timedOut: false });
      return skip(job, 'notice_expired', `not attempted before ${job.expires_at}; the final notification may be on its way`, log);
    }
    const controller = new AbortController();
    running.add(controller);
    const began = Date.now();
    let timedOut = false;
    const kind = job.target.kind;
    metrics?.attempts.labels(kind, job.event).inc();
    const settled = (outcome: 'delivered' | 'retried' | 'failed'): void => {
      metrics?.seconds.labels(kind).observe((Date.now() - began) / 1000);
      metrics?.outcomes.labels(kind, outcome).inc();
    };
    try {
      const { location, httpStatus } = await attemptDelivery(job, controller.signal, log);
      await report(job, { outcome: 'DELIVERED', duration_ms: Date.now() - began, location, ...(httpStatus === undefined ? {} : { http_status: httpStatus }) });
      settled('delivered');
      log.info({ ms: Date.now() - began, location: job.target.kind === 'webhook' ? undefined : location }, 'delivered');
      return ACK;
    } catch (thrown) {
      if (controller.signal.reason instanceof ShutdownAbort) return { kind: 'requeue', reason: 'worker shut down mid-delivery' };
      const error = thrown instanceof DeliveryError ? thrown : new DeliveryError('delivery_error', coerceError(thrown).message, { cause: thrown });
      timedOut = TIMED_OUT.has(error.code);
      const failure = {
        duration_ms: Date.now() - began,
        error: { code: error.code, message: error.message.slice(0, 1000) },
        ...(error.httpStatus === undefined ? {} : { http_status: error.httpStatus }),
      };
      // started/progress notifications are courtesies: one attempt, never retried.
      const tier = error.permanent || job.event !== 'completed' || job.attempt >= maxAttempts ? undefined : backoffTier(tiers, job.attempt, error.retryAfterMs);
      if (!tier) {
        await report(job, { outcome: 'FAILED', ...failure });
        settled('failed');
        log.warn({ code: error.code, err: error.message }, 'delivery failed for good');
        return ACK;
      }
      await publishDeliveryJob(broker, { ...job, attempt: job.attempt + 1 }, tier.exchange);
      await report(job, { outcome: 'RETRY', ...failure, next_attempt_at: new Date(Date.now() + tier.delayMs).toISOString() });
      settled('retried');
      log.info({ code: error.code, err: error.message, retryInMs: tier.delayMs }, 'delivery failed; retrying');
      return ACK;
    } finally {
      running.delete(controller);
      admission.finish({ timedOut });
    }
  };

  // Room beyond the slots for jobs waiting on a full key or destination, so that the jobs queued
  // behind them still reach the worker (and run) while they wait.
  const consumer = broker.consume(broker.topology.queues.deliveries, limits.concurrency * 2, handle);
  logger.info({ ...limits, targets: ['webhook', ...byKind.keys()] }, 'deliverers consuming');
  return {
    async stop(graceMs) {
      // No new starts; jobs still waiting for a slot go back to the queue at once.
      scheduler.close();
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

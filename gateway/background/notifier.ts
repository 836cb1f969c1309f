import { coerceError, deliveryEvent, publishDeliveryJob, type Broker, type Logger, type TaskEvent } from '../../shared/index.js';
import type { DeliveryRecord, TaskStore } from '../store/index.js';
import { deliveryJob } from './delivery-jobs.js';
import type { Links } from '../links.js';
import type { NoticeMetrics } from './notice-metrics.js';

/**
 * `started` and `progress` webhooks, for submissions that asked for them (webhook_events). They
 * are courtesies next to the final one: one attempt each, progress at most once per interval per
 * task (per gateway replica), and they never change a target's delivery state.
 *
 * They never arrive after the final notification. Each one first claims its target's one place
 * for a notice in the store (claimNotice), which succeeds only while the task's deliveries have not
 * begun; once claimed, the final notification waits until this one is reported (delivered, failed
 * or skipped) or its window has passed (gateway/background/delivery-jobs.ts). Its job expires at
 * the window's start less one attempt, so a deliverer that gets it late skips it rather than send
 * it after the final one. A notice that finds the task finished already is recorded SKIPPED
 * (`superseded`) and not sent; a progress notice while another is on its way is just left out.
 */
export interface Notifier {
  started(event: TaskEvent): void;
}

export interface NoticeWindow {
  /** How long a notice's job may wait for a deliverer before it is skipped. */
  ttlMs: number;
  /** The longest one webhook attempt takes (connect + request timeouts), plus leeway for clocks. */
  attemptMs: number;
}

/** A queue that lets a notice wait 15 s is too busy for "started" to be news. */
export const NOTICE_TTL_MS = 15_000;

export function createNotifier({
  broker,
  store,
  logger,
  links,
  progressIntervalMs,
  window,
  metrics,
}: {
  broker: Broker;
  store: TaskStore;
  logger: Logger;
  links: Links;
  progressIntervalMs: number;
  window: NoticeWindow;
  metrics?: NoticeMetrics;
}): Notifier {
  const lastProgress = new Map<string, number>();

  /** Written down as an attempt, so the task's delivery attempts show why it never came. */
  const superseded = (kind: string) => ({
    code: 'superseded',
    message: `the task had moved on before this ${kind} notification could be sent; it would have arrived out of order`,
  });
  const skipped = (webhook: DeliveryRecord, kind: 'started' | 'progress', event: TaskEvent, error = superseded(kind)): Promise<void> => {
    if (error.code === 'superseded') metrics?.labels('superseded').inc();
    return store.deliveries.apply([
      deliveryEvent(
        { delivery_id: event.event_id, task_id: event.task_id, target_id: webhook.targetId, event: kind, round: webhook.round, attempt: 1 },
        { outcome: 'SKIPPED', duration_ms: 0, error },
      ),
    ]);
  };

  const send = async (event: TaskEvent): Promise<void> => {
    const kind = event.progress === undefined ? 'started' : 'progress';
    const webhook = (await store.deliveries.forTask(event.task_id)).find((d) => d.target.kind === 'webhook');
    if (!webhook || webhook.target.kind !== 'webhook' || !webhook.target.events.includes(kind)) return;
    if (kind === 'progress') {
      const now = Date.now();
      if (now - (lastProgress.get(event.task_id) ?? 0) < progressIntervalMs) return;
      lastProgress.set(event.task_id, now);
      // Bounded memory: the oldest entries go first (Map keeps insertion order).
      if (lastProgress.size > 10_000) lastProgress.delete(lastProgress.keys().next().value!);
    }
    const record = await store.get(event.task_id);
    if (!record) return;
    // Read before the claim: a task still STARTED here is what the body says, whatever follows.
    if (record.status !== 'STARTED') {
      if (kind === 'started') return skipped(webhook, kind, event);
      metrics?.labels('left_out').inc();
      return;
    }
    const now = Date.now();
    const expiresAt = now + window.ttlMs;
    if (!(await store.deliveries.claimNotice(event.task_id, webhook.targetId, event.event_id, expiresAt + window.attemptMs, now))) {
      // Superseded when the final notification has begun; else another notice (or another copy
      // of this one) is on its way, and this one is simply left out.
      const begun = (await store.deliveries.forTask(event.task_id)).some((d) => d.targetId === webhook.targetId && d.state !== 'PENDING');
      if (kind === 'started' && begun) return skipped(webhook, kind, event);
      metrics?.labels('left_out').inc();
      return;
    }
    try {
      // The event's own id names this notification: the same on every copy of it.
      await publishDeliveryJob(broker, {
        ...deliveryJob(record, webhook, kind, links),
        delivery_id: event.event_id,
        expires_at: new Date(expiresAt).toISOString(),
      });
      metrics?.labels('enqueued').inc();
    } catch (err) {
      // Recording it settles the claim, so the final notification need not wait out the window.
      await skipped(webhook, kind, event, { code: 'not_enqueued', message: `the broker did not take it: ${coerceError(err).message}`.slice(0, 500) });
      throw err;
    }
  };

  return {
    started(event) {
      send(event).catch((err: unknown) => logger.warn({ taskId: event.task_id, err: coerceError(err).message }, 'started/progress webhook not enqueued'));
    },
  };
}

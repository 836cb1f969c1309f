import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * What the deliverers did, on the worker's registry. Labelled by target kind (webhook, s3, ftp,
 * volume) and never by destination: one series per receiver URL would grow without bound.
 */
export type DeliveryOutcome = 'delivered' | 'retried' | 'failed' | 'skipped' | 'deferred';
const OUTCOMES: readonly DeliveryOutcome[] = ['delivered', 'retried', 'failed', 'skipped', 'deferred'];
const TARGETS = ['webhook', 's3', 'ftp', 'volume'] as const;

export interface DeliveryMetrics {
  attempts: Counter<'target' | 'event'>;
  outcomes: Counter<'target' | 'outcome'>;
  seconds: Histogram<'target'>;
}

export function createDeliveryMetrics(registry: Registry): DeliveryMetrics {
  const registers = [registry];
  const attempts = new Counter({
    name: 'warren_worker_delivery_attempts_total',
    help: 'Delivery attempts this worker made (requests sent, files written), by target kind and notification (started, progress, completed).',
    labelNames: ['target', 'event'] as const,
    registers,
  });
  const outcomes = new Counter({
    name: 'warren_worker_deliveries_total',
    help:
      'Delivery jobs this worker settled, by target kind and outcome: delivered; retried (failed, another attempt scheduled); failed (for good); ' +
      'skipped (a started/progress notification not sent, so it cannot arrive after the final one); deferred (no free slot, back later, not an attempt).',
    labelNames: ['target', 'outcome'] as const,
    registers,
  });
  const seconds = new Histogram({
    name: 'warren_worker_delivery_seconds',
    help: 'Time one delivery attempt took, whatever its outcome, by target kind.',
    labelNames: ['target'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers,
  });
  // Every series from 0, so rate() and alerts work before the first delivery.
  for (const target of TARGETS) {
    for (const outcome of OUTCOMES) outcomes.labels(target, outcome).inc(0);
    attempts.labels(target, 'completed').inc(0);
    seconds.zero({ target });
  }
  return { attempts, outcomes, seconds };
}

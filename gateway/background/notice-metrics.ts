import { Counter, type Registry } from 'prom-client';

/**
 * What became of started/progress notices at the gateway, before any deliverer sees them (the
 * worker's warren_worker_deliveries_total counts what deliverers did with the ones enqueued).
 */
export type NoticeOutcome = 'enqueued' | 'superseded' | 'left_out';
const OUTCOMES: readonly NoticeOutcome[] = ['enqueued', 'superseded', 'left_out'];

export type NoticeMetrics = Counter<'outcome'>;

export function createNoticeMetrics(registry: Registry): NoticeMetrics {
  const notices = new Counter({
    name: 'warren_webhook_notices_total',
    help:
      'Started/progress webhook notices this gateway decided, by outcome: enqueued (sent to the deliverers); superseded (the task had moved on, ' +
      'so it would have arrived after the final notification: not sent, listed SKIPPED); left_out (a progress notice of a task that had moved on, ' +
      'or another notice of the task was on its way: not sent, not listed).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of OUTCOMES) notices.labels(outcome).inc(0);
  return notices;
}

import type { Topology } from '../../shared/index.js';

/**
 * What each declared queue is for, read from the topology's own structure rather than guessed from
 * names, so the dashboard warns only where a missing consumer is a problem:
 * - `work`: a consumer must be there (processors' task queues, deliveries, results, the dead-letter
 *   watch, Celery replies) — none means nothing moves.
 * - `delay`: a retry or delivery-retry tier: messages wait out their TTL and expire back into their
 *   exchange; a consumer would defeat the delay.
 * - `holding`: the dead-letter queue, kept for people to inspect and redrive.
 * - `stream`: the revocations stream. Workers read it, but RabbitMQ's AMQP answer (queue.declare-ok)
 *   reports 0 consumers for a stream whatever reads it, so the count is unknown, not zero.
 */
export type QueueRole = 'work' | 'delay' | 'holding' | 'stream';

export function queueRoles(topology: Topology): Map<string, QueueRole> {
  const delays = new Set([...topology.retryTiers, ...topology.deliveryRetryTiers].map((tier) => tier.exchange));
  const roles = new Map<string, QueueRole>();
  for (const spec of topology.declare.queues) {
    const type = (spec.options.arguments as Record<string, unknown> | undefined)?.['x-queue-type'];
    const role: QueueRole = type === 'stream' ? 'stream' : delays.has(spec.name) ? 'delay' : spec.name === topology.queues.deadLetters ? 'holding' : 'work';
    roles.set(spec.name, role);
  }
  return roles;
}

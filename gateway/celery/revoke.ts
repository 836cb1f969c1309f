import type { Options } from 'amqplib';
import type { Broker } from '../../shared/index.js';
import type { CeleryRevoke } from './contracts.js';

/**
 * Cancel a task at the Celery workers, exactly as `app.control.revoke(task_id, terminate=True)`
 * (`celery -A tasks control revoke --terminate <id>`) does: kombu's Mailbox broadcasts a `revoke`
 * command on the `celery.pidbox` fanout exchange, which every running worker's pidbox queue is bound
 * to (kombu/pidbox.py `Mailbox._publish`, celery/app/control.py `Control.revoke`). Each worker adds
 * the id to its revoked set — a queued or prefetched task is then skipped ("Discarding revoked
 * task") and reported REVOKED — and terminates the pool process running it, if any (prefork pool).
 *
 * A broadcast reaches only the workers running at that moment: the revoked set lives in each
 * worker's memory (or its --statedb file). The Celery bridge therefore broadcasts again when a
 * worker reports a task warren has already recorded REVOKED (gateway/celery/bridge.ts).
 */
export interface RevokeBroadcast {
  body: Buffer;
  properties: Options.Publish;
}

/** kombu's Lamport clock header: workers only move theirs forward to it, so a small counter does. */
let clock = 0;

export function revokeBroadcast(taskId: string, { terminate = true, signal = 'SIGTERM' }: { terminate?: boolean; signal?: string } = {}): RevokeBroadcast {
  clock += 1;
  const command: CeleryRevoke = { method: 'revoke', arguments: { task_id: taskId, terminate, signal }, destination: null, pattern: null, matcher: null };
  return {
    body: Buffer.from(JSON.stringify(command)),
    properties: {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      // Transient, like every pidbox message: a command for the workers running now.
      persistent: false,
      // `expires` 0: no expiry. Celery's client puts the end of its reply wait there (1 s on); only
      // reply collectors read it, and a cancel must hold however late a busy worker reads its mailbox.
      headers: { clock, expires: 0 },
    },
  };
}

/** Broadcast the revoke with a publisher confirm (the fanout exchange is declared with the topology). */
export async function broadcastRevoke(broker: Broker, taskId: string): Promise<void> {
  const { body, properties } = revokeBroadcast(taskId);
  await broker.publish(broker.topology.celery.pidbox, '', body, properties);
}

import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage } from 'amqplib';
import {
  REVOCATION_RETENTION_MS,
  REVOCATION_SYNC_TYPE,
  coerceError,
  revocationSyncs,
  taskEvents,
  type Broker,
  type Consumer,
  type Logger,
} from '../shared/index.js';

/**
 * Which tasks were cancelled, as this worker knows it. Workers cannot read the store, so they read
 * the revocations stream: every REVOKED event, replayed from the start of its retention on each
 * (re)connect, then followed live. A worker started after a cancel therefore still skips the task.
 *
 * `caughtUp()` resolves once the replay has reached the present: on each (re)connect the worker
 * appends a marker of its own to the stream and waits to read it back — everything before it has
 * been seen. Tasks wait for that before they run.
 */
export interface RevocationWatch {
  caughtUp(): Promise<void>;
  isRevoked(taskId: string): boolean;
  /** Called for each cancel as it arrives (replayed ones too), to abort a run in progress. */
  onRevoke(listener: (taskId: string) => void): void;
  stop(): Promise<void>;
}

export interface RevocationWatchOptions {
  broker: Broker;
  logger: Logger;
  workerId: string;
  /** Most ids remembered; the oldest go first (a cancel older than the retention is moot anyway). */
  maxEntries?: number;
  /** If the marker does not come back (lost on a broken channel), run tasks anyway after this long. */
  catchUpTimeoutMs?: number;
}

export function startRevocationWatch({ broker, logger, workerId, maxEntries = 100_000, catchUpTimeoutMs = 30_000 }: RevocationWatchOptions): RevocationWatch {
  const queue = broker.topology.queues.revocations;
  /** task id → when the cancel stops mattering (ms). Map order is arrival order: oldest first. */
  const revoked = new Map<string, number>();
  const listeners: ((taskId: string) => void)[] = [];
  let marker = '';
  let gate = newGate();

  const remember = (taskId: string, at: number): void => {
    const now = Date.now();
    const expires = at + REVOCATION_RETENTION_MS;
    if (expires <= now) return;
    revoked.delete(taskId);
    revoked.set(taskId, expires);
    for (const [id, until] of revoked) {
      if (until > now && revoked.size <= maxEntries) break;
      revoked.delete(id);
    }
    for (const listener of listeners) listener(taskId);
  };

  const onMessage = (message: ConsumeMessage): void => {
    try {
      if (message.properties.type === REVOCATION_SYNC_TYPE) {
        if (revocationSyncs.decode(message.content).marker === marker) gate.open();
        return;
      }
      const event = taskEvents.decode(message.content);
      if (event.status === 'REVOKED') remember(event.task_id, Date.parse(event.at));
    } catch (err) {
      // Nothing to dead-letter in a stream: a foreign message is only skipped.
      logger.warn({ err: coerceError(err).message }, 'revocations stream: message ignored');
    }
  };

  const onStart = (channel: Channel): void => {
    if (gate.isOpen) gate = newGate();
    marker = randomUUID();
    const sync = { type: REVOCATION_SYNC_TYPE, version: 1, marker, worker: workerId, at: new Date().toISOString() } as const;
    channel.sendToQueue(queue, revocationSyncs.encode(sync), { type: REVOCATION_SYNC_TYPE, contentType: 'application/json' });
    const pending = gate;
    setTimeout(() => {
      if (pending.isOpen) return;
      logger.warn({ timeoutMs: catchUpTimeoutMs }, 'revocations not replayed in time; running tasks without them');
      pending.open();
    }, catchUpTimeoutMs).unref();
  };

  // Cancels published while the connection was down are only in the stream: close the gate until
  // the replay after the reconnect, or a task channel that comes back first could run one.
  broker.onDisconnect(() => {
    if (gate.isOpen) gate = newGate();
  });
  const consumer: Consumer = broker.follow(queue, onMessage, onStart);
  return {
    caughtUp: () => gate.opened,
    isRevoked: (taskId) => (revoked.get(taskId) ?? 0) > Date.now(),
    onRevoke: (listener) => void listeners.push(listener),
    stop: () => consumer.stop(),
  };
}

function newGate(): { opened: Promise<void>; open: () => void; isOpen: boolean } {
  let resolve!: () => void;
  const gate = {
    opened: new Promise<void>((r) => (resolve = r)),
    isOpen: false,
    open: () => {
      gate.isOpen = true;
      resolve();
    },
  };
  return gate;
}

import type { Broker } from '../../shared/index.js';

/**
 * How many workers serve each processor right now: the consumers on its queue (a Celery
 * processor's: its Celery queue), as the broker counts them. A processor nobody serves is then
 * visible as such — in `GET /processors` and in an unfinished task's status — rather than a queue
 * that silently fills. Each count is kept for `ttlMs`, so polls do not each cost a broker round trip.
 */
export interface WorkerCensus {
  /** Workers consuming `processor`'s queue; null when the broker cannot say (not connected). */
  workers(processor: string): Promise<number | null>;
}

export function workerCensus(broker: Broker, queueOf: (processor: string) => string | undefined, ttlMs = 2_000): WorkerCensus {
  const counts = new Map<string, { at: number; count: Promise<number | null> }>();
  const ask = async (queue: string): Promise<number | null> => {
    if (!broker.isConnected()) return null;
    try {
      // A passive check: a queue that does not exist (a Celery queue no worker declared yet) closes
      // the short-lived channel with 404, which means nobody consumes it.
      return await broker.withChannel(async (channel) => (await channel.checkQueue(queue)).consumerCount);
    } catch (err) {
      return /NOT_FOUND|404/.test(String(err)) ? 0 : null;
    }
  };
  return {
    async workers(processor) {
      const queue = queueOf(processor);
      if (queue === undefined) return null;
      const cached = counts.get(queue);
      if (cached && Date.now() - cached.at < ttlMs) return cached.count;
      const count = ask(queue);
      counts.set(queue, { at: Date.now(), count });
      return count;
    },
  };
}

import { every } from './periodic.js';
import type { TaskDispatch } from '../celery/dispatch.js';
import { coerceError, taskMessage, type Broker, type Logger } from '../../shared/index.js';
import type { TaskStore, TaskWithInput } from '../store/index.js';

/**
 * The outbox for tasks. The gateway inserts a PENDING row, then publishes with a confirm; if it
 * dies in between, the row would stay PENDING with no message behind it. So every confirm is
 * noted in the store (batched: a lost note costs only a duplicate publish, never a task), and a
 * sweeper in every gateway republishes PENDING rows never noted as confirmed once they are older
 * than the grace period — each row claimed by one sweeper. A republished task that was in fact
 * queued runs twice at worst; the store records it once.
 */
export interface ConfirmationLog {
  confirmed(taskId: string): void;
  /** Write what is noted (at shutdown). */
  flush(): Promise<void>;
}

export function createConfirmationLog(store: TaskStore, logger: Logger, flushMs = 250): ConfirmationLog {
  let noted: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = async (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    const ids = noted;
    noted = [];
    if (ids.length === 0) return;
    await store
      .markConfirmed(ids, Date.now())
      .catch((err: unknown) =>
        logger.warn({ err: coerceError(err).message, tasks: ids.length }, 'confirmations not noted; the sweeper may republish those tasks'),
      );
  };
  return {
    confirmed(taskId) {
      noted.push(taskId);
      timer ??= setTimeout(() => void flush(), flushMs);
    },
    flush,
  };
}

export interface TaskSweeperDeps {
  broker: Broker;
  store: TaskStore;
  logger: Logger;
  graceMs: number;
  /** The submit route's way to publish: a Celery processor's task goes to its Celery queue as a Celery message. */
  dispatch: TaskDispatch;
}

export function startTaskSweeper({ broker, store, logger, graceMs, dispatch }: TaskSweeperDeps): { stop(): Promise<void> } {
  const republish = async (record: TaskWithInput): Promise<void> => {
    await dispatch(
      taskMessage({ task_id: record.id, processor: record.processor, submitted_at: new Date(record.createdAt).toISOString(), attempt: 1, input: record.input }),
    );
    logger.warn(
      { taskId: record.id, processor: record.processor },
      'task found PENDING without a confirmed message (its gateway stopped mid-submit); published it',
    );
  };
  const sweep = async (): Promise<void> => {
    if (!broker.isConnected()) return;
    const claimed = await store.claimUnconfirmed(Date.now() - graceMs, 100, Date.now());
    const failed: string[] = [];
    for (const record of claimed) await republish(record).catch(() => failed.push(record.id));
    if (failed.length > 0) await store.unclaim(failed);
  };
  return every(Math.min(10_000, graceMs), sweep, (err) => logger.warn({ err: coerceError(err).message }, 'task sweep failed; trying again later'));
}

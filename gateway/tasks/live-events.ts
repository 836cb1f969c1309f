import { coerceError, isTerminal, taskEvents, type Broker, type Consumer, type Logger, type TaskEvent } from '../../shared/index.js';
import type { TaskRecord, TaskStore } from '../store/index.js';

/**
 * Live updates for this gateway replica: every task event on the broker is fanned out to whoever
 * in this process listens for that task (SSE streams, `Prefer: wait` requests). Each replica has
 * its own queue, so a client may be served by any replica.
 */
export class LiveEvents {
  private readonly listeners = new Map<string, Set<(event: TaskEvent) => void>>();
  /** Waiters for a task's terminal state to be committed by this process's recorder. */
  private readonly commitWaiters = new Map<string, Set<() => void>>();
  private subscription: Consumer | undefined;
  /** Aborted when the gateway stops: open streams end and waits return at once. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly store: TaskStore,
    private readonly logger: Logger,
  ) {}

  start(broker: Broker): void {
    this.subscription = broker.subscribe('task.#', (message) => {
      // Most events concern tasks nobody here waits for; skip those before decoding. (Events
      // without the id, from older workers, are decoded as before.)
      const taskId: unknown = message.properties.correlationId;
      if (typeof taskId === 'string' && !this.listeners.has(taskId)) return;
      try {
        this.dispatch(taskEvents.decode(message.content));
      } catch (err) {
        this.logger.debug({ err: coerceError(err).message }, 'live event ignored');
      }
    });
  }

  /** End every open stream and wait, then stop listening to the broker. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.subscription?.stop();
  }

  /** Run `onStop` when the gateway stops (an SSE stream ends itself); returns an unregister. */
  onStop(onStop: () => void): () => void {
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    return () => this.stopping.signal.removeEventListener('abort', onStop);
  }

  /** Call `listener` for each event of `taskId` until the returned function is called. */
  listen(taskId: string, listener: (event: TaskEvent) => void): () => void {
    let set = this.listeners.get(taskId);
    if (!set) this.listeners.set(taskId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(taskId);
    };
  }

  /** This process's recorder has committed `taskId`'s terminal state: wake its waiters at once. */
  finished(taskId: string): void {
    for (const wake of this.commitWaiters.get(taskId) ?? []) wake();
  }

  dispatch(event: TaskEvent): void {
    for (const listener of this.listeners.get(event.task_id) ?? []) listener(event);
  }

  /**
   * The task's record once it is terminal in the store, or as it is when `timeoutMs` runs out.
   * A terminal event can arrive here before the recorder (maybe another replica's) has committed
   * it, so the store is re-read until it agrees; a slow re-check covers events this replica
   * missed (a reconnect drops its queue).
   */
  async waitForTerminal(taskId: string, timeoutMs: number, options: { terminalSeen?: boolean } = {}): Promise<TaskRecord | undefined> {
    const deadline = Date.now() + timeoutMs;
    let wake: () => void = () => {};
    let sawTerminalEvent = options.terminalSeen ?? false;
    // Listen before the first read, so an event between the two cannot slip by unseen.
    const stopListening = this.listen(taskId, (event) => {
      if (!isTerminal(event.status)) return;
      sawTerminalEvent = true;
      wake();
    });
    const unregister = this.onStop(() => wake());
    const onCommit = (): void => wake();
    let commitSet = this.commitWaiters.get(taskId);
    if (!commitSet) this.commitWaiters.set(taskId, (commitSet = new Set()));
    commitSet.add(onCommit);
    try {
      let record = await this.store.get(taskId);
      while (record && !isTerminal(record.status) && Date.now() < deadline && !this.stopping.signal.aborted) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(sawTerminalEvent ? 5 : 1000, deadline - Date.now()));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        record = await this.store.get(taskId);
      }
      return record;
    } finally {
      stopListening();
      unregister();
      commitSet.delete(onCommit);
      if (commitSet.size === 0) this.commitWaiters.delete(taskId);
    }
  }
}

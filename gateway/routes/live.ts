import { Router, type Response } from 'express';
import { isTerminal, reduceTask, type TaskEvent, type TaskProgressState } from '../../shared/index.js';
import type { TaskStore } from '../store/index.js';
import type { LiveEvents } from '../tasks/live-events.js';
import { deliveriesOf, toStatusDocument } from '../tasks/task-document.js';
import { loadTask } from '../tasks/task-lookup.js';
import { clientOf } from '../http/auth.js';
import type { Links } from '../links.js';

/**
 * GET {base}/task_events/:id — Server-Sent Events for one task. The stream opens with the task's
 * current state from the store (so a reconnect, with or without Last-Event-ID, always catches up),
 * then follows the broker's events live, and ends with a `done` event carrying the final status
 * document once the store has recorded the terminal state.
 *   event: status   {task_id, status, progress, progress_message, attempts, at}
 *   event: done     the task_status document
 */
const HEARTBEAT_MS = 15_000;
const COMMIT_WAIT_MS = 10_000;
const RECHECK_MS = 1_000;

export function liveRoutes({ links, store, live }: { links: Links; store: TaskStore; live: LiveEvents }): Router {
  const router = Router();

  router.get('/task_events/:id', async (req, res) => {
    // Listen before reading the store: an event published between the read and the listen would
    // otherwise be lost. Events that come first are held and replayed after the snapshot.
    const held: TaskEvent[] = [];
    let deliver = (event: TaskEvent): void => void held.push(event);
    const stopListening = live.listen(req.params.id.toLowerCase(), (event) => deliver(event));
    let record;
    try {
      record = await loadTask(store, req.params.id, clientOf(res));
    } catch (err) {
      stopListening();
      throw err;
    }
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no'); // let proxies pass events through at once
    res.flushHeaders();
    res.write('retry: 2000\n\n');

    const finish = async (): Promise<void> => {
      const final = (await live.waitForTerminal(record.id, COMMIT_WAIT_MS, { terminalSeen: true })) ?? record;
      send(res, 'done', `${final.updatedAt}`, toStatusDocument(final, links, await deliveriesOf(store, final)));
      res.end();
    };
    // The store may be out of reach just then: end the stream, and the client's EventSource comes
    // back (retry: 2000) to a fresh snapshot.
    const finishOrEnd = (): void => {
      finish().catch(() => res.end());
    };

    if (isTerminal(record.status)) {
      stopListening();
      await finish();
      return;
    }

    // Events may come twice or out of order: pass on only what moves the task forward.
    let state: TaskProgressState = { status: record.status, attempt: record.attempt, progress: record.progress };
    send(
      res,
      'status',
      `${record.updatedAt}`,
      statusOf(record.id, record.status, record.progress, record.progressMessage, record.attempt, new Date(record.updatedAt).toISOString()),
    );

    let ended = false;
    deliver = (event: TaskEvent) => {
      if (ended) return;
      const next = reduceTask(state, event);
      if (!next.apply) return;
      state = { status: next.status, attempt: next.attempt, progress: next.progress };
      if (isTerminal(next.status)) {
        ended = true;
        stopListening();
        finishOrEnd();
        return;
      }
      send(res, 'status', event.event_id, statusOf(record.id, next.status, next.progress, event.message ?? null, next.attempt, event.at));
    };
    for (const event of held.splice(0)) deliver(event);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    // Live events are a courtesy (this replica's queue is re-created after a reconnect and may
    // miss some): the store is re-read every second, so a stream shows what was recorded and
    // always reaches its end.
    const recheck = setInterval(() => {
      // A store out of reach only skips this re-check.
      void store.get(record.id).then(
        (latest) => {
          if (ended || !latest) return;
          if (isTerminal(latest.status)) {
            ended = true;
            stopListening();
            finishOrEnd();
            return;
          }
          if (latest.status === 'PENDING') return;
          const next = reduceTask(state, { status: latest.status, attempt: latest.attempt, progress: latest.progress ?? undefined });
          if (!next.apply) return;
          state = { status: next.status, attempt: next.attempt, progress: next.progress };
          send(
            res,
            'status',
            `${latest.updatedAt}`,
            statusOf(record.id, latest.status, latest.progress, latest.progressMessage, latest.attempt, new Date(latest.updatedAt).toISOString()),
          );
        },
        () => {},
      );
    }, RECHECK_MS);
    // On shutdown the stream ends; the browser's EventSource reconnects to another replica.
    const unregister = live.onStop(() => res.end());
    res.on('close', () => {
      ended = true;
      clearInterval(heartbeat);
      clearInterval(recheck);
      stopListening();
      unregister();
    });
  });

  return router;
}

function statusOf(taskId: string, status: string, progress: number | null, message: string | null, attempts: number, at: string): Record<string, unknown> {
  return { task_id: taskId, status, progress, progress_message: message, attempts, at };
}

function send(res: Response, event: string, id: string, data: unknown): void {
  if (res.writableEnded) return;
  res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

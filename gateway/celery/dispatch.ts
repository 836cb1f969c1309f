import { publishTask, type Broker, type ProcessorDescriptor, type TaskMessage } from '../../shared/index.js';
import { celeryTaskMessage } from './task-message.js';

/**
 * Publish an accepted task to whatever serves its processor, with a publisher confirm: warren's
 * own task message to its quorum queue, or — for a processor a Celery worker serves — a Celery
 * task message to that Celery queue, and never the one where the other belongs (a Celery worker
 * deletes a message it cannot read, and a warren worker dead-letters one). The submit route and
 * the task outbox both publish through this, so a republished task takes the same path.
 */
export type TaskDispatch = (message: TaskMessage) => Promise<void>;

export interface TaskDispatchOptions {
  broker: Broker;
  processors: readonly Pick<ProcessorDescriptor, 'name' | 'celery' | 'files' | 'timeoutMs'>[];
  /** DATA_DIR: input files are passed to Celery tasks as absolute paths under it. */
  dataDir: string;
  /** TASK_QUEUE_TTL_MS: a Celery task no worker took this long after its submit leaves the queue unrun (the stall check fails it); 0: never. */
  queueTtlMs: number;
}

export function taskDispatch({ broker, processors, dataDir, queueTtlMs }: TaskDispatchOptions): TaskDispatch {
  const celeryProcessors = new Map(processors.flatMap((p) => (p.celery ? [[p.name, { ...p, celery: p.celery }] as const] : [])));
  return async (message) => {
    const processor = celeryProcessors.get(message.processor);
    if (!processor) return publishTask(broker, message);
    const celery = celeryTaskMessage({
      taskId: message.task_id,
      target: processor.celery,
      input: message.input,
      takesFiles: processor.files !== undefined,
      dataDir,
      replyTo: broker.topology.queues.celeryReplies,
      // From the submit time, so that a task the outbox republishes later expires when the first would have.
      ...(queueTtlMs > 0 ? { queueTtlMs: Date.parse(message.submitted_at) + queueTtlMs - Date.now() } : {}),
      ...(processor.timeoutMs !== undefined ? { timeLimitSeconds: Math.ceil(processor.timeoutMs / 1000) } : {}),
    });
    // The default exchange, routing key = the queue: how Celery's own producer sends to a queue
    // on a direct exchange. The queue is declared with the topology, so the message is kept even
    // before the first worker starts.
    await broker.publish('', processor.celery.queue, celery.body, celery.properties);
  };
}

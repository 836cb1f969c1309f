import { randomUUID } from 'node:crypto';
import type { Broker } from './broker.js';
import { TASK_EVENT_TYPE, TASK_MESSAGE_TYPE, taskEvents, taskMessages, type TaskEvent, type TaskMessage } from './contracts.js';
import { DELIVERY_EVENT_TYPE, DELIVERY_JOB_TYPE, deliveryEvents, deliveryJobs, type DeliveryEvent, type DeliveryJob } from './delivery-contracts.js';
import { eventRoutingKey } from './topology.js';

/** Build a v1 task event; `fields` carries the status-specific parts. */
export function taskEvent(
  task: Pick<TaskMessage, 'task_id' | 'processor'>,
  fields: Pick<TaskEvent, 'status' | 'attempt'> & Partial<Pick<TaskEvent, 'progress' | 'message' | 'result' | 'artifacts' | 'error' | 'worker'>>,
): TaskEvent {
  return {
    type: TASK_EVENT_TYPE,
    version: 1,
    event_id: randomUUID(),
    task_id: task.task_id,
    processor: task.processor,
    at: new Date().toISOString(),
    ...fields,
  };
}

export function taskMessage(fields: Omit<TaskMessage, 'type' | 'version'>): TaskMessage {
  return { type: TASK_MESSAGE_TYPE, version: 1, ...fields };
}

/**
 * Validate, then publish a task — to its processor's queue, or through `exchange` (a retry tier,
 * which hands it back to the processor's queue after its delay) — and wait for the confirm.
 */
export async function publishTask(broker: Broker, message: TaskMessage, exchange = broker.topology.exchanges.tasks): Promise<void> {
  if (!taskMessages.check(message)) throw new TypeError('refusing to publish a task message that breaks its contract');
  await broker.publish(exchange, message.processor, taskMessages.encode(message), {
    messageId: message.task_id,
    type: TASK_MESSAGE_TYPE,
  });
}

/** Validate, then publish a task event to the events exchange and wait for the confirm. */
export async function publishTaskEvent(broker: Broker, event: TaskEvent): Promise<void> {
  if (!taskEvents.check(event)) throw new TypeError('refusing to publish a task event that breaks its contract');
  await broker.publish(broker.topology.exchanges.events, eventRoutingKey(event.status, event.processor), taskEvents.encode(event), {
    messageId: event.event_id,
    // The task's id outside the body: a gateway's live-event consumer drops events nobody in it
    // is waiting for without parsing them (gateway/tasks/live-events.ts).
    correlationId: event.task_id,
    type: TASK_EVENT_TYPE,
  });
}

/** A v1 delivery event: the outcome of one attempt of `job`. */
export function deliveryEvent(
  job: Pick<DeliveryJob, 'delivery_id' | 'task_id' | 'target_id' | 'event' | 'round' | 'attempt'>,
  fields: Omit<DeliveryEvent, 'type' | 'version' | 'event_id' | 'delivery_id' | 'task_id' | 'target_id' | 'event' | 'round' | 'attempt' | 'at'>,
): DeliveryEvent {
  return {
    type: DELIVERY_EVENT_TYPE,
    version: 1,
    event_id: randomUUID(),
    delivery_id: job.delivery_id,
    task_id: job.task_id,
    target_id: job.target_id,
    event: job.event,
    round: job.round,
    attempt: job.attempt,
    at: new Date().toISOString(),
    ...fields,
  };
}

/**
 * Validate, then publish a delivery job — to the deliveries queue, or through `exchange` (a
 * delivery retry tier, which hands it back after its delay) — and wait for the confirm.
 */
export async function publishDeliveryJob(broker: Broker, job: DeliveryJob, exchange = broker.topology.exchanges.deliveries): Promise<void> {
  if (!deliveryJobs.check(job)) throw new TypeError('refusing to publish a delivery job that breaks its contract');
  await broker.publish(exchange, 'delivery', deliveryJobs.encode(job), { messageId: `${job.delivery_id}:${job.attempt}`, type: DELIVERY_JOB_TYPE });
}

/** Validate, then publish the outcome of a delivery attempt to the events exchange and wait for the confirm. */
export async function publishDeliveryEvent(broker: Broker, event: DeliveryEvent): Promise<void> {
  if (!deliveryEvents.check(event)) throw new TypeError('refusing to publish a delivery event that breaks its contract');
  await broker.publish(broker.topology.exchanges.events, `delivery.${event.outcome.toLowerCase()}`, deliveryEvents.encode(event), {
    messageId: event.event_id,
    type: DELIVERY_EVENT_TYPE,
  });
}

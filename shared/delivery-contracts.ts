import { Type, type Static } from '@sinclair/typebox';
import { contract, FileRef, ProcessorName, TaskError, TaskId, Timestamp } from './contracts.js';

/**
 * Delivery contracts v1: where a client asked its results to go, the job a deliverer runs, and
 * what the deliverer reports back. Like the task contracts, validated at both ends.
 */

/** Which webhook notifications a client asked for; `completed` (a terminal state) is the default. */
export const WEBHOOK_EVENTS = ['started', 'progress', 'completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
const WebhookEventName = Type.Union(WEBHOOK_EVENTS.map((e) => Type.Literal(e)));

const SubPath = Type.String({ maxLength: 200, pattern: '^([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$', description: 'Relative path of safe segments, no ".."' });

export const DeliveryTarget = Type.Union(
  [
    Type.Object({
      kind: Type.Literal('webhook'),
      url: Type.String({ maxLength: 2048 }),
      events: Type.Array(WebhookEventName),
      /** The gateway's origin as the submitter reached it: absolute links in the body when PUBLIC_URL is not set. */
      gateway_url: Type.Optional(Type.String({ maxLength: 2048, pattern: '^https?://[^/?#@]+$' })),
    }),
    Type.Object({ kind: Type.Literal('s3'), destination: ProcessorName, path: SubPath }),
    Type.Object({ kind: Type.Literal('ftp'), destination: ProcessorName, path: SubPath }),
    Type.Object({ kind: Type.Literal('volume'), path: SubPath }),
  ],
  { $id: 'DeliveryTarget' },
);
export type DeliveryTarget = Static<typeof DeliveryTarget>;

/** A target of one task, as the store and the API name it: `webhook`, `s3`, `ftp`, `volume`. */
export const TargetId = Type.String({ pattern: '^(webhook|s3|ftp|volume)$' });

export const DELIVERY_JOB_TYPE = 'warren.delivery';
export const DeliveryJob = Type.Object(
  {
    type: Type.Literal(DELIVERY_JOB_TYPE),
    version: Type.Literal(1),
    /** Stable across every retry of one notification: the `webhook-id`, so receivers can dedupe. */
    delivery_id: TaskId,
    task_id: TaskId,
    processor: ProcessorName,
    target_id: TargetId,
    target: DeliveryTarget,
    event: WebhookEventName,
    /** A redeliver on demand starts a new round; reports of an older round are ignored. */
    round: Type.Integer({ minimum: 1 }),
    attempt: Type.Integer({ minimum: 1 }),
    /**
     * The API key (its name) that made the task; absent for a task made without one. Deliverers
     * share their slots fairly between keys by it. Optional, so jobs published before it existed
     * stay valid.
     */
    owner: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Name of the API key that made the task; absent when anonymous' })),
    /**
     * How often a deliverer handed this job back to the broker unattempted because its key or
     * destination had all the slots it may hold; later deferrals wait longer. Not an attempt.
     */
    deferrals: Type.Optional(Type.Integer({ minimum: 1, description: 'Times the job was deferred unattempted for want of a free slot; not an attempt' })),
    /**
     * A started/progress notification not attempted by then is skipped (outcome SKIPPED): the
     * gateway holds the task's final notification back only until this time plus one attempt, so
     * a late one would overtake it. Absent on final notifications, which never expire.
     */
    expires_at: Type.Optional(Timestamp),
    /** The task's status document when the job was made (what task_status answered then). */
    document: Type.Record(Type.String(), Type.Unknown()),
    /** Present exactly when the task succeeded. */
    result: Type.Optional(Type.Unknown()),
    artifacts: Type.Array(FileRef),
  },
  { $id: 'DeliveryJob', description: 'One notification or file drop for one target of one task, consumed by deliverers.' },
);
export type DeliveryJob = Static<typeof DeliveryJob>;

export const DELIVERY_STATES = ['PENDING', 'DELIVERING', 'DELIVERED', 'FAILED'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export const DELIVERY_EVENT_TYPE = 'warren.delivery.event';
export const DeliveryEvent = Type.Object(
  {
    type: Type.Literal(DELIVERY_EVENT_TYPE),
    version: Type.Literal(1),
    event_id: TaskId,
    delivery_id: TaskId,
    task_id: TaskId,
    target_id: TargetId,
    event: WebhookEventName,
    round: Type.Integer({ minimum: 1 }),
    attempt: Type.Integer({ minimum: 1 }),
    /**
     * DELIVERED and FAILED end the round; RETRY means another attempt is scheduled. SKIPPED: a
     * started/progress notification not sent at all (it expired, or found no free slot), so that
     * it never arrives after the final one.
     */
    outcome: Type.Union([Type.Literal('DELIVERED'), Type.Literal('RETRY'), Type.Literal('FAILED'), Type.Literal('SKIPPED')]),
    at: Timestamp,
    duration_ms: Type.Integer({ minimum: 0 }),
    http_status: Type.Optional(Type.Integer()),
    /** Where it landed, on DELIVERED (never with credentials). */
    location: Type.Optional(Type.String()),
    error: Type.Optional(TaskError),
    next_attempt_at: Type.Optional(Timestamp),
  },
  { $id: 'DeliveryEvent', description: 'The outcome of one delivery attempt, published by deliverers to the events exchange.' },
);
export type DeliveryEvent = Static<typeof DeliveryEvent>;

export const deliveryJobs = contract(DeliveryJob);
export const deliveryEvents = contract(DeliveryEvent);

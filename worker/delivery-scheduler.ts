import type { DeliveryJob } from '../shared/index.js';

/**
 * Fair shares of one worker's delivery slots. Every delivery counts against two lanes: the API key
 * that made the task (its owner) and the destination it goes to (a webhook's origin, an S3 or FTP
 * destination, the volume). A lane may hold only so many slots at once, so a dead endpoint — or one
 * key's many — cannot take them all; the others keep delivering.
 *
 * A delivery whose lane is full waits here (holding its prefetch slot) for at most `deferAfterMs`:
 * a busy but healthy endpoint frees slots in milliseconds, so its bursts run without a round trip.
 * A delivery still waiting then, or one that arrives while its lane has started nothing for that
 * long (its slots are stuck), is deferred: the runner hands it back to the broker for later, which
 * frees the prefetch slot for others' deliveries queued behind it. Deferring is not an attempt:
 * only the caps decide it, never the endpoint's answer. Sidekiq Enterprise's concurrent limiter
 * works alike (wait briefly for a slot, then reschedule without counting a retry); BullMQ Pro
 * gets there with a queue per group, which one quorum queue of deliveries does not have.
 *
 * A destination whose last attempts timed out gets one slot until an attempt to it ends otherwise
 * (a half-open circuit): a black hole costs one slot, not its full share.
 *
 * The caps hold per worker process; every worker keeps its own count.
 */
export interface DeliveryLimits {
  /** Deliveries running at once in this worker (DELIVERY_CONCURRENCY). */
  concurrency: number;
  /** Of those, at most this many for tasks of one API key (DELIVERY_KEY_CONCURRENCY). */
  perKey: number;
  /** … and at most this many to one destination (DELIVERY_DESTINATION_CONCURRENCY). */
  perDestination: number;
  /** Longest wait here for a lane's slot before a delivery is deferred (DELIVERY_DEFER_AFTER_MS). */
  deferAfterMs: number;
}

/** The lanes of one delivery. */
export interface DeliveryLanes {
  /** The API key's name; absent for a task made without a key, which only its destination limits. */
  key?: string;
  destination: string;
}

export type Admission =
  /** Run now; call `finish` exactly once when the attempt has ended. */
  | { kind: 'run'; finish(outcome: { timedOut: boolean }): void }
  /** Hand the job back to the broker for later; it was not attempted. */
  | { kind: 'defer' }
  /** The scheduler was closed or the channel lost while it waited: requeue it. */
  | { kind: 'abandon' };

/** Timed-out attempts in a row after which a destination gets a single slot. */
export const TIMEOUTS_BEFORE_ONE_SLOT = 2;
/** A delivery waiting for any free slot is looked at again this often at most (DELIVERY_DEFER_AFTER_MS may be 0). */
const RECHECK_AT_LEAST_EVERY_MS = 100;
/** Destinations remembered for their timeouts while idle; the oldest are forgotten first. */
const REMEMBERED_DESTINATIONS = 10_000;

interface Lane {
  running: number;
  /** When a delivery of this lane last started: a full lane that started nothing for deferAfterMs is stuck. */
  lastStartAt: number;
  /** Destinations only: attempts in a row that timed out. */
  timeouts: number;
}

interface Waiter {
  lanes: string[];
  resolve(admission: Admission): void;
  timer: NodeJS.Timeout | undefined;
}

const DEFER: Admission = { kind: 'defer' };
const ABANDON: Admission = { kind: 'abandon' };

/** The lanes a job counts against: its owner's key (when it has one) and its destination. */
export function lanesOf(job: Pick<DeliveryJob, 'owner' | 'target'>): DeliveryLanes {
  return { ...(job.owner === undefined ? {} : { key: job.owner }), destination: destinationOf(job.target) };
}

/**
 * Where a delivery goes, as one endpoint: a webhook's origin (scheme, host and port — another
 * port is another server), an S3 or FTP destination by name, or the shared volume.
 */
export function destinationOf(target: DeliveryJob['target']): string {
  switch (target.kind) {
    case 'webhook':
      return `webhook ${URL.canParse(target.url) ? new URL(target.url).origin : target.url}`;
    case 's3':
    case 'ftp':
      return `${target.kind} ${target.destination}`;
    case 'volume':
      return 'volume';
  }
}

export class DeliveryScheduler {
  private running = 0;
  private readonly lanes = new Map<string, Lane>();
  private readonly waiting: Waiter[] = [];
  private closed = false;

  /** `canDefer` false (no delay tier to defer to): a delivery waits for its slot however long it takes. */
  constructor(
    private readonly limits: DeliveryLimits,
    private readonly canDefer: boolean,
  ) {}

  admit(lanes: DeliveryLanes): Promise<Admission> {
    if (this.closed) return Promise.resolve(ABANDON);
    const ids = [...(lanes.key === undefined ? [] : [`key:${lanes.key}`]), `to:${lanes.destination}`];
    if (this.fits(ids)) return Promise.resolve(this.start(ids));
    if (this.canDefer && ids.some((id) => this.isStuck(id))) return Promise.resolve(DEFER);
    return new Promise((resolve) => {
      const waiter: Waiter = { lanes: ids, resolve, timer: undefined };
      this.waiting.push(waiter);
      this.armDeadline(waiter);
    });
  }

  /** Deliveries waiting for a slot are requeued (the channel that holds them is gone); the running ones go on. */
  abandonWaiting(): void {
    for (const waiter of this.waiting.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.resolve(ABANDON);
    }
  }

  /** No more deliveries start; those waiting are requeued. */
  close(): void {
    this.closed = true;
    this.abandonWaiting();
  }

  /** Deliveries running now, and waiting here for a slot. */
  get counts(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  private capOf(id: string, lane: Lane | undefined): number {
    if (id.startsWith('key:')) return this.limits.perKey;
    return (lane?.timeouts ?? 0) >= TIMEOUTS_BEFORE_ONE_SLOT ? 1 : this.limits.perDestination;
  }

  private isFull(id: string): boolean {
    const lane = this.lanes.get(id);
    return (lane?.running ?? 0) >= this.capOf(id, lane);
  }

  private fits(ids: string[]): boolean {
    return this.running < this.limits.concurrency && !ids.some((id) => this.isFull(id));
  }

  private isStuck(id: string): boolean {
    const lane = this.lanes.get(id);
    return lane !== undefined && this.isFull(id) && Date.now() - lane.lastStartAt >= this.limits.deferAfterMs;
  }

  private start(ids: string[]): Admission {
    this.running += 1;
    const at = Date.now();
    for (const id of ids) {
      const lane = this.lanes.get(id) ?? { running: 0, lastStartAt: at, timeouts: 0 };
      lane.running += 1;
      lane.lastStartAt = at;
      this.remember(id, lane);
    }
    let finished = false;
    return {
      kind: 'run',
      finish: ({ timedOut }) => {
        if (finished) return;
        finished = true;
        this.finish(ids, timedOut);
      },
    };
  }

  private finish(ids: string[], timedOut: boolean): void {
    this.running -= 1;
    for (const id of ids) {
      const lane = this.lanes.get(id);
      if (!lane) continue;
      lane.running -= 1;
      if (!id.startsWith('key:')) lane.timeouts = timedOut ? lane.timeouts + 1 : 0;
      if (lane.running === 0 && lane.timeouts === 0) this.lanes.delete(id);
    }
    this.pump();
  }

  /** Start every waiting delivery that fits now, oldest first: one blocked by its lane lets the others pass. */
  private pump(): void {
    for (let index = 0; index < this.waiting.length && this.running < this.limits.concurrency;) {
      const waiter = this.waiting[index]!;
      if (!this.fits(waiter.lanes)) {
        index += 1;
        continue;
      }
      this.waiting.splice(index, 1);
      clearTimeout(waiter.timer);
      waiter.resolve(this.start(waiter.lanes));
    }
  }

  /**
   * After deferAfterMs a delivery still held back by its lane is deferred. One held back only
   * because every slot is busy keeps its place (deferring it would free nothing for anyone) and is
   * looked at again later, in case its lane fills up meanwhile.
   */
  private armDeadline(waiter: Waiter, delayMs = this.limits.deferAfterMs): void {
    if (!this.canDefer) return;
    waiter.timer = setTimeout(() => {
      const index = this.waiting.indexOf(waiter);
      if (index === -1) return;
      if (!waiter.lanes.some((id) => this.isFull(id))) {
        this.armDeadline(waiter, Math.max(this.limits.deferAfterMs, RECHECK_AT_LEAST_EVERY_MS));
        return;
      }
      this.waiting.splice(index, 1);
      waiter.resolve(DEFER);
    }, delayMs);
  }

  /** Keeps a lane, most recently used last; idle destinations beyond the bound are forgotten, oldest first. */
  private remember(id: string, lane: Lane): void {
    this.lanes.delete(id);
    this.lanes.set(id, lane);
    if (this.lanes.size <= REMEMBERED_DESTINATIONS) return;
    for (const [oldId, old] of this.lanes) {
      if (this.lanes.size <= REMEMBERED_DESTINATIONS) break;
      if (old.running === 0) this.lanes.delete(oldId);
    }
  }
}

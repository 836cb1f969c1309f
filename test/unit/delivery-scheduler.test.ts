import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeliveryScheduler, destinationOf, lanesOf, TIMEOUTS_BEFORE_ONE_SLOT, type Admission, type DeliveryLanes } from '../../worker/delivery-scheduler.js';

const limits = { concurrency: 4, perKey: 2, perDestination: 2, deferAfterMs: 1000 };

/** What became of one admission so far: still waiting, or its outcome. */
function track(scheduler: DeliveryScheduler, lanes: DeliveryLanes): { state: 'waiting' | Admission['kind']; admission?: Admission } {
  const tracked: { state: 'waiting' | Admission['kind']; admission?: Admission } = { state: 'waiting' };
  void scheduler.admit(lanes).then((admission) => {
    tracked.state = admission.kind;
    tracked.admission = admission;
  });
  return tracked;
}

/** Lets admissions settle (they resolve on the microtask queue) and moves the clock. */
async function after(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

function finish(tracked: { admission?: Admission }, timedOut = false): void {
  if (tracked.admission?.kind !== 'run') throw new Error(`not running: ${tracked.admission?.kind}`);
  tracked.admission.finish({ timedOut });
}

describe('the delivery scheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs at most the per-destination share to one destination, and the rest of the slots elsewhere', async () => {
    const scheduler = new DeliveryScheduler(limits, true);
    const slow = [1, 2, 3].map(() => track(scheduler, { destination: 'webhook http://slow' }));
    const other = track(scheduler, { destination: 'webhook http://other' });
    await after(0);
    expect(slow.map((t) => t.state)).toEqual(['run', 'run', 'waiting']);
    expect(other.state).toBe('run');
    expect(scheduler.counts).toEqual({ running: 3, waiting: 1 });
  });

  it("runs at most the per-key share for one key's tasks, whatever their destinations; tasks without a key count only per destination", async () => {
    const scheduler = new DeliveryScheduler(limits, true);
    const alices = ['a', 'b', 'c'].map((host) => track(scheduler, { key: 'alice', destination: `webhook http://${host}` }));
    const anonymous = track(scheduler, { destination: 'webhook http://c' });
    const bobs = track(scheduler, { key: 'bob', destination: 'webhook http://d' });
    await after(0);
    expect(alices.map((t) => t.state)).toEqual(['run', 'run', 'waiting']);
    expect(anonymous.state).toBe('run');
    expect(bobs.state).toBe('run');
  });

  it('starts a waiting delivery as soon as its destination frees a slot: a busy but answering endpoint is not deferred', async () => {
    const scheduler = new DeliveryScheduler(limits, true);
    const [first, second, third] = [1, 2, 3].map(() => track(scheduler, { destination: 'webhook http://busy' }));
    await after(300);
    expect(third!.state).toBe('waiting');
    finish(first!);
    await after(0);
    expect(third!.state).toBe('run');
    expect(second!.state).toBe('run');
  });

  it('defers a delivery still held back by its full destination after deferAfterMs, freeing its place for others', async () => {
    const scheduler = new DeliveryScheduler(limits, true);
    [1, 2].map(() => track(scheduler, { destination: 'webhook http://tarpit' }));
    const held = track(scheduler, { destination: 'webhook http://tarpit' });
    await after(999);
    expect(held.state).toBe('waiting');
    await after(1);
    expect(held.state).toBe('defer');
    expect(scheduler.counts).toEqual({ running: 2, waiting: 0 });
  });

  it('defers at once what arrives for a full destination that has started nothing for deferAfterMs', async () => {
    const scheduler = new DeliveryScheduler(limits, true);
    [1, 2].map(() => track(scheduler, { destination: 'webhook http://tarpit' }));
    await after(500);
    const early = track(scheduler, { destination: 'webhook http://tarpit' });
    await after(0);
    expect(early.state).toBe('waiting');
    await after(500);
    const late = track(scheduler, { destination: 'webhook http://tarpit' });
    await after(0);
    expect(late.state).toBe('defer');
  });

  it('with deferAfterMs 0, defers what arrives for a full destination at once, and nothing else', async () => {
    const scheduler = new DeliveryScheduler({ ...limits, concurrency: 2, deferAfterMs: 0 }, true);
    const [first] = [1, 2].map(() => track(scheduler, { destination: 'webhook http://full' }));
    const forFull = track(scheduler, { destination: 'webhook http://full' });
    const forAnySlot = track(scheduler, { destination: 'webhook http://other' });
    await after(1000);
    expect([forFull.state, forAnySlot.state]).toEqual(['defer', 'waiting']);
    finish(first!);
    await after(0);
    expect(forAnySlot.state).toBe('run');
  });

  it('lets a delivery to another destination pass the ones waiting for a full destination', async () => {
    const scheduler = new DeliveryScheduler({ ...limits, concurrency: 3 }, true);
    [1, 2, 3].map(() => track(scheduler, { destination: 'webhook http://tarpit' }));
    const fresh = track(scheduler, { destination: 'webhook http://fine' });
    await after(0);
    expect(fresh.state).toBe('run');
  });

  it('keeps a delivery held back only because every slot is busy waiting past deferAfterMs, and starts the oldest first', async () => {
    const scheduler = new DeliveryScheduler({ ...limits, concurrency: 2 }, true);
    const running = ['a', 'b'].map((host) => track(scheduler, { destination: `webhook http://${host}` }));
    const older = track(scheduler, { destination: 'webhook http://c' });
    await after(10);
    const newer = track(scheduler, { destination: 'webhook http://d' });
    await after(5000);
    expect([older.state, newer.state]).toEqual(['waiting', 'waiting']);
    finish(running[0]!);
    await after(0);
    expect([older.state, newer.state]).toEqual(['run', 'waiting']);
  });

  it(`gives a destination one slot after ${TIMEOUTS_BEFORE_ONE_SLOT} timed-out attempts in a row, and its share back after one that ends otherwise`, async () => {
    const scheduler = new DeliveryScheduler({ ...limits, perDestination: 3, concurrency: 8 }, true);
    const to = { destination: 'webhook http://black-hole' };
    const first = [1, 2].map(() => track(scheduler, to));
    await after(0);
    for (const tracked of first) finish(tracked, true);
    const probes = [1, 2].map(() => track(scheduler, to));
    await after(0);
    expect(probes.map((t) => t.state)).toEqual(['run', 'waiting']);
    finish(probes[0]!, false);
    await after(0);
    const more = [1, 2].map(() => track(scheduler, to));
    await after(0);
    expect([probes[1]!.state, ...more.map((t) => t.state)]).toEqual(['run', 'run', 'run']);
  });

  it('counts a timeout against the destination only, never against the key', async () => {
    const scheduler = new DeliveryScheduler({ ...limits, perKey: 3, perDestination: 3, concurrency: 8 }, true);
    const timedOut = [1, 2].map(() => track(scheduler, { key: 'alice', destination: 'webhook http://black-hole' }));
    await after(0);
    for (const tracked of timedOut) finish(tracked, true);
    const elsewhere = ['a', 'b', 'c'].map((host) => track(scheduler, { key: 'alice', destination: `webhook http://${host}` }));
    await after(0);
    expect(elsewhere.map((t) => t.state)).toEqual(['run', 'run', 'run']);
  });

  it('never defers when there is no delay tier to defer to: the delivery waits for its slot', async () => {
    const scheduler = new DeliveryScheduler(limits, false);
    const [first] = [1, 2].map(() => track(scheduler, { destination: 'webhook http://slow' }));
    const waiting = track(scheduler, { destination: 'webhook http://slow' });
    await after(60_000);
    expect(waiting.state).toBe('waiting');
    finish(first!);
    await after(0);
    expect(waiting.state).toBe('run');
  });

  it('hands waiting deliveries back for a requeue when the channel is lost, and everything once closed', async () => {
    const scheduler = new DeliveryScheduler(limits, true);
    const running = [1, 2].map(() => track(scheduler, { destination: 'webhook http://slow' }));
    const waiting = track(scheduler, { destination: 'webhook http://slow' });
    await after(0);
    scheduler.abandonWaiting();
    await after(0);
    expect(waiting.state).toBe('abandon');
    scheduler.close();
    const late = track(scheduler, { destination: 'webhook http://other' });
    await after(0);
    expect(late.state).toBe('abandon');
    // Finishing twice gives back one slot, not two.
    finish(running[0]!);
    finish(running[0]!);
    expect(scheduler.counts.running).toBe(1);
  });
});

describe('the lanes of a delivery', () => {
  const webhook = (url: string) => ({ kind: 'webhook' as const, url, events: ['completed' as const] });

  it("is a webhook's origin: another port is another destination, another path is not", () => {
    expect(destinationOf(webhook('https://Hooks.Example.com/a?x=1'))).toBe(destinationOf(webhook('https://hooks.example.com:443/b')));
    expect(destinationOf(webhook('http://127.0.0.1:8080/a'))).not.toBe(destinationOf(webhook('http://127.0.0.1:8081/a')));
    expect(destinationOf(webhook('http://hooks.example.com/a'))).not.toBe(destinationOf(webhook('https://hooks.example.com/a')));
  });

  it('is the configured S3 or FTP destination by name, or the volume', () => {
    expect(destinationOf({ kind: 's3', destination: 'archive', path: 'a' })).toBe(destinationOf({ kind: 's3', destination: 'archive', path: 'b' }));
    expect(destinationOf({ kind: 's3', destination: 'archive', path: '' })).not.toBe(destinationOf({ kind: 'ftp', destination: 'archive', path: '' }));
    expect(destinationOf({ kind: 'volume', path: 'x' })).toBe('volume');
  });

  it("counts the owner's key when the task has one", () => {
    expect(lanesOf({ owner: 'alice', target: webhook('https://a.example/h') })).toEqual({ key: 'alice', destination: 'webhook https://a.example' });
    expect(lanesOf({ target: webhook('https://a.example/h') })).toEqual({ destination: 'webhook https://a.example' });
  });
});

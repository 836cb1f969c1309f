import { describe, expect, it } from 'vitest';
import { backoffTier, deferralTier } from '../../worker/delivery-runner.js';

const tiers = [5000, 30_000, 120_000, 600_000].map((delayMs) => ({ delayMs }));

describe('the delivery backoff', () => {
  it('follows the schedule attempt by attempt, and repeats its last step', () => {
    expect([1, 2, 3, 4, 5, 9].map((attempt) => backoffTier(tiers, attempt)?.delayMs)).toEqual([5000, 30_000, 120_000, 600_000, 600_000, 600_000]);
  });

  it("honours a receiver's Retry-After with the shortest tier long enough, never a shorter one than the schedule's", () => {
    expect(backoffTier(tiers, 1, 20_000)?.delayMs).toBe(30_000);
    expect(backoffTier(tiers, 1, 30_000)?.delayMs).toBe(30_000);
    expect(backoffTier(tiers, 3, 1000)?.delayMs).toBe(120_000);
    expect(backoffTier(tiers, 1, 86_400_000)?.delayMs).toBe(600_000);
  });

  it('has nothing to offer without tiers', () => {
    expect(backoffTier([], 1)).toBeUndefined();
  });
});

describe('the deferral backoff', () => {
  const schedule = [5000, 30_000, 120_000, 600_000, 3_600_000].map((delayMs) => ({ delayMs }));

  it('waits longer with each deferral, but never past the first tier of a minute or more', () => {
    expect([1, 2, 3, 4, 20].map((deferrals) => deferralTier(schedule, deferrals)?.delayMs)).toEqual([5000, 30_000, 120_000, 120_000, 120_000]);
  });

  it('takes the longest tier when none is that long, and has nothing to offer without tiers', () => {
    expect(deferralTier([{ delayMs: 1000 }, { delayMs: 2000 }], 5)?.delayMs).toBe(2000);
    expect(deferralTier([], 1)).toBeUndefined();
  });
});

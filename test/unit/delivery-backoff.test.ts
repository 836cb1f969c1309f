import { describe, expect, it } from 'vitest';
import { backoffTier } from '../../worker/delivery-runner.js';

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

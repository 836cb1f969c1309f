/**
 * How long to wait before trying the store again after the `tries`-th failure in a row: from
 * 100 ms doubling to 5 s, with ±20% jitter so that gateways that lost the store together do not
 * come back in lockstep. Short at first (a failover takes seconds), never long (once the store is
 * back, held events should not wait more than a few seconds).
 */
export function retryDelayMs(tries: number, { baseMs = 100, maxMs = 5_000 }: { baseMs?: number; maxMs?: number } = {}): number {
  const nominal = Math.min(maxMs, baseMs * 2 ** Math.max(0, tries - 1));
  return Math.round(nominal * (0.8 + Math.random() * 0.4));
}

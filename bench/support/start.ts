import type { WarrenProcess } from '../../test/support/processes.js';

/**
 * Start processes side by side and record every one that came up in `into` (which the caller
 * stops in its `finally`), even when another failed to start: waiting for all of them to settle
 * first means none is left running unrecorded.
 */
export async function startTogether<T extends readonly Promise<WarrenProcess>[]>(
  into: WarrenProcess[],
  ...starting: T
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(starting);
  for (const outcome of settled) if (outcome.status === 'fulfilled') into.push(outcome.value);
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<WarrenProcess>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

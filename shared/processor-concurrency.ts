import { ConfigError } from './errors.js';

const ENTRY = /^([a-z][a-z0-9_-]{0,63})\s*:\s*(\S+)$/;

/**
 * PROCESSOR_CONCURRENCY, `document:2,thumbnail:4` → a map of prefetch per processor queue. The
 * names are checked where a worker knows its processors (selectProcessors), as PROCESSORS_DIR adds
 * its own; an entry that is not `name:n` with n from 1 to 10000 stops the process here.
 */
export function parseProcessorConcurrency(raw: string | undefined): ReadonlyMap<string, number> {
  const counts = new Map<string, number>();
  for (const entry of (raw ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const match = ENTRY.exec(entry);
    if (!match) throw new ConfigError('PROCESSOR_CONCURRENCY', `"${entry.slice(0, 64)}" must be processor:n (e.g. document:2)`);
    const [, name = '', count = ''] = match;
    if (counts.has(name)) throw new ConfigError('PROCESSOR_CONCURRENCY', `names ${name} twice`);
    const value = Number(count);
    if (!/^\d+$/.test(count) || value < 1 || value > 10_000) {
      throw new ConfigError('PROCESSOR_CONCURRENCY', `${name}: "${count.slice(0, 16)}" is not a whole number from 1 to 10000`);
    }
    counts.set(name, value);
  }
  return counts;
}

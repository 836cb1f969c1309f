import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Staging directories (DATA_DIR/uploads/.incoming/<id>) that no request owns any more. The submit
 * route removes its own whatever the outcome; only a gateway killed mid-upload leaves one. A
 * request has at most Node's requestTimeout (5 minutes) to arrive, so a directory untouched for
 * STAGING_MAX_AGE_MS belongs to a request that is long gone, whichever gateway it came to.
 */
export const STAGING_MAX_AGE_MS = 60 * 60 * 1000;

/** Remove the staging directories last changed before `olderThan` (epoch ms); how many went. */
export async function removeAbandonedStaging(incomingDir: string, olderThan: number): Promise<number> {
  let entries: string[];
  try {
    entries = await fs.readdir(incomingDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let removed = 0;
  for (const name of entries) {
    const dir = path.join(incomingDir, name);
    const stat = await fs.stat(dir).catch(() => undefined);
    if (!stat || stat.mtimeMs >= olderThan) continue;
    await fs.rm(dir, { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}

import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { toLocation } from '../../shared/index.js';
import { DeliveryError, deliveryAborted } from './errors.js';
import { planPackage, targetSegments, vanishedArtifact, type PackageEntry } from './package.js';
import type { FileDeliverer } from './types.js';

/** Rounds of the replace dance before giving up on a directory that concurrent redeliveries keep replacing. */
const SWAP_ATTEMPTS = 5;

/**
 * Delivers into the shared volume, `DATA_DIR/results/<client path>/<task_id>/`, for systems that
 * mount it. The whole directory appears at once: it is built in a hidden sibling and renamed into
 * place, so a reader sees no directory, the complete old one, or the complete new one, never a mix.
 */
export function createVolumeDeliverer(): FileDeliverer {
  return {
    kind: 'volume',
    async deliver(delivery, target, ctx) {
      const parent = path.join(ctx.dataDir, 'results', ...targetSegments(target.path));
      const final = path.join(parent, delivery.taskId);
      const entries = await planPackage(delivery, ctx.dataDir);
      const staging = path.join(parent, `.${delivery.taskId}.${randomBytes(6).toString('hex')}.staging`);
      try {
        await fs.mkdir(staging, { recursive: true });
        for (const entry of entries) {
          if (ctx.signal.aborted) throw deliveryAborted(ctx.signal.reason);
          await place(entry, path.join(staging, entry.name));
        }
        await swapIn(staging, final);
      } catch (error) {
        await fs.rm(staging, { recursive: true, force: true });
        throw classify(error, entries);
      }
      ctx.log.debug({ directory: final }, 'delivered to the volume');
      return { location: `${toLocation(ctx.dataDir, final)}/` };
    },
  };
}

async function place(entry: PackageEntry, destination: string): Promise<void> {
  // copyFile copies in the kernel (or clones, where the file system can): no artifact passes through memory.
  if (entry.source === 'file') await fs.copyFile(entry.path, destination, fs.constants.COPYFILE_FICLONE);
  else await fs.writeFile(destination, entry.body);
}

/**
 * rename() replaces nothing but an empty directory, so a redelivery moves the old directory
 * aside, renames the new one in, then removes the old. Node has no RENAME_EXCHANGE, so between
 * the two renames the directory is briefly absent — absent, never half-written.
 */
async function swapIn(staging: string, final: string): Promise<void> {
  const retired: string[] = [];
  try {
    for (let attempt = 0; attempt < SWAP_ATTEMPTS; attempt += 1) {
      try {
        await fs.rename(staging, final);
        return;
      } catch (error) {
        if (!isCode(error, 'ENOTEMPTY', 'EEXIST')) throw error;
      }
      const old = `${staging}.${attempt}.old`;
      try {
        await fs.rename(final, old);
        retired.push(old);
      } catch (error) {
        // A concurrent redelivery moved it first: try our rename again.
        if (!isCode(error, 'ENOENT')) throw error;
      }
    }
    throw new DeliveryError('destination_busy', 'the result directory kept being replaced by concurrent deliveries');
  } finally {
    await Promise.all(retired.map((old) => fs.rm(old, { recursive: true, force: true })));
  }
}

function classify(error: unknown, entries: readonly PackageEntry[]): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const vanished = vanishedArtifact(error, entries);
  if (vanished) return vanished;
  // A full disk, a permission the operator must fix, a flaky mount: all may heal.
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  return new DeliveryError('destination_unavailable', `writing to the shared volume failed (${code})`, { cause: error });
}

function isCode(error: unknown, ...codes: string[]): boolean {
  return codes.includes((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}

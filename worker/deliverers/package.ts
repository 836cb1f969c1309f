import fs from 'node:fs/promises';
import { isTaskId, resolveLocation, safeFileName } from '../../shared/index.js';
import { DeliveryError, artifactMissing } from './errors.js';
import type { DeliveryPackage } from './types.js';

/**
 * The files of a delivery package, in the order every file-like deliverer writes them:
 * artifacts, then result.json, then status.json last, so a reader that sees status.json knows
 * the rest is complete. Artifacts stay on the volume (streamed by the deliverer, never read whole);
 * the two JSON documents are small and built here.
 */
export type PackageEntry =
  | { readonly name: string; readonly contentType: string; readonly source: 'file'; readonly path: string; readonly size: number }
  | { readonly name: string; readonly contentType: string; readonly source: 'bytes'; readonly body: Buffer };

export const RESULT_FILE = 'result.json';
export const STATUS_FILE = 'status.json';
const JSON_TYPE = 'application/json';

/** Checks every artifact is on the volume before anything is written, so a missing one fails the delivery up front and permanently. */
export async function planPackage(delivery: DeliveryPackage, dataDir: string): Promise<PackageEntry[]> {
  // The task id becomes a key or a directory name: only a real one may.
  if (!isTaskId(delivery.taskId)) throw new DeliveryError('invalid_task_id', 'the delivery does not carry a valid task id', { permanent: true });
  const entries: PackageEntry[] = [];
  const names = new Set<string>();
  for (const artifact of delivery.artifacts) {
    const name = safeFileName(artifact.name, 'artifact');
    if (name === RESULT_FILE || name === STATUS_FILE || names.has(name)) {
      throw new DeliveryError('artifact_name_conflict', `artifact "${name}" would overwrite another file of the delivery`, { permanent: true });
    }
    names.add(name);
    let path: string;
    try {
      path = resolveLocation(dataDir, artifact.location);
    } catch (error) {
      throw new DeliveryError('unsupported_location', `artifact "${name}" is not on the shared volume`, { permanent: true, cause: error });
    }
    const stat = await fs.stat(path).catch(() => undefined);
    if (!stat?.isFile()) throw artifactMissing(name);
    entries.push({ name, contentType: artifact.content_type, source: 'file', path, size: stat.size });
  }
  if (delivery.result !== undefined) {
    // The exact bytes task_result answers for a JSON result.
    entries.push({ name: RESULT_FILE, contentType: JSON_TYPE, source: 'bytes', body: Buffer.from(JSON.stringify(delivery.result)) });
  }
  entries.push({ name: STATUS_FILE, contentType: JSON_TYPE, source: 'bytes', body: Buffer.from(JSON.stringify(delivery.status)) });
  return entries;
}

/**
 * The client's sub-path as segments. The gateway validated it already; this is a second check
 * because every deliverer turns it into a key or a path, and ".." there would leave the prefix.
 */
export function targetSegments(path: string | undefined): string[] {
  const segments = (path ?? '').split('/').filter((segment) => segment !== '');
  if (!segments.every((segment) => /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(segment))) {
    throw new DeliveryError('invalid_path', 'the delivery path must be "/"-separated segments of letters, digits, ".", "_" and "-"', { permanent: true });
  }
  return segments;
}

/** The artifact_missing error when a failure is an artifact that vanished from the volume after planPackage saw it. */
export function vanishedArtifact(error: unknown, entries: readonly PackageEntry[]): DeliveryError | undefined {
  const failure = error as NodeJS.ErrnoException | undefined;
  if (failure?.code !== 'ENOENT') return undefined;
  const entry = entries.find((candidate) => candidate.source === 'file' && candidate.path === failure.path);
  return entry ? artifactMissing(entry.name) : undefined;
}

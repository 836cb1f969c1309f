import path from 'node:path';
import { WarrenError } from './errors.js';

/**
 * The shared volume (DATA_DIR) as warren lays it out. Messages and rows carry locations
 * (`volume:<relative path>`), never absolute paths, so every process may mount the volume anywhere.
 *   uploads/<task id>/<n>-<safe name>     input files, written by the gateway
 *   artifacts/<task id>/<safe name>       output files, written by workers
 *   inputs/<task id>-<random>/            a worker's downloads of s3:// inputs, for one run only
 */
export const VOLUME_SCHEME = 'volume:';

export function uploadDir(dataDir: string, taskId: string): string {
  return path.join(dataDir, 'uploads', taskId);
}

/** `<n>-<safe name>`, an input's name in its task's upload directory (volume or S3): the index keeps two files of one name apart. */
export function uploadFileName(index: number, safeName: string): string {
  return `${index}-${safeName}`;
}

export function artifactDir(dataDir: string, taskId: string): string {
  return path.join(dataDir, 'artifacts', taskId);
}

export function toLocation(dataDir: string, absolutePath: string): string {
  return `${VOLUME_SCHEME}${path.relative(dataDir, absolutePath).split(path.sep).join('/')}`;
}

/** The absolute path of a volume location; refuses anything that would leave DATA_DIR. */
export function resolveLocation(dataDir: string, location: string): string {
  if (!location.startsWith(VOLUME_SCHEME)) throw new WarrenError('unsupported_location', `not a volume location: ${location}`);
  const root = path.resolve(dataDir);
  const resolved = path.resolve(root, location.slice(VOLUME_SCHEME.length));
  if (resolved !== root && !resolved.startsWith(root + path.sep)) {
    throw new WarrenError('unsafe_location', 'location leaves the data directory');
  }
  return resolved;
}

/**
 * A file name safe to put on disk and in a Content-Disposition header: letters, digits, ".", "-"
 * and "_" only, no leading dot, at most 100 characters. Client-supplied names are never used as
 * paths; this is for display and for a recognisable suffix only.
 */
export function safeFileName(name: string, fallback = 'file'): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const cleaned = base
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(-100);
  return cleaned === '' ? fallback : cleaned;
}

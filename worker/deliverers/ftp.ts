import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Client, FTPError } from 'basic-ftp';
import { describeDestination, type FtpDestination } from '../../shared/index.js';
import { DeliveryError, accessDenied, deliveryAborted, scrub, unknownDestination } from './errors.js';
import { planPackage, targetSegments, vanishedArtifact, type PackageEntry } from './package.js';
import type { FileDeliverer } from './types.js';

/**
 * Delivers onto operator-configured FTP/FTPS servers, into `<root>/<client path>/<task_id>/`.
 * Each file is uploaded under a hidden temporary name and renamed into place, so a reader
 * polling the directory never sees a final name with partial content; status.json comes last.
 * One connection per delivery: deliveries are rare next to their transfer time, and a fresh
 * connection cannot inherit a broken state (a half-closed data socket, a stale cwd).
 */
export function createFtpDeliverer(destinations: Record<string, FtpDestination>): FileDeliverer {
  return {
    kind: 'ftp',
    async deliver(delivery, target, ctx) {
      const destination = target.destination === undefined ? undefined : destinations[target.destination];
      if (!destination) throw unknownDestination('ftp', target.destination);
      const root = destination.root === '/' ? '' : destination.root;
      const directory = `${root}/${[...targetSegments(target.path), delivery.taskId].join('/')}`;
      const entries = await planPackage(delivery, ctx.dataDir);
      if (ctx.signal.aborted) throw deliveryAborted(ctx.signal.reason);

      const client = new Client(destination.timeoutMs);
      // Closing the client fails whatever command or transfer is in flight, which ends the attempt.
      const abort = () => client.close();
      ctx.signal.addEventListener('abort', abort, { once: true });
      try {
        await client.access({
          host: destination.host,
          port: destination.port,
          user: destination.user,
          password: destination.password,
          secure: destination.secure,
          secureOptions: { rejectUnauthorized: destination.rejectUnauthorized },
        });
        await client.ensureDir(directory);
        for (const entry of entries) {
          await put(client, entry);
          ctx.log.debug({ destination: destination.name, file: `${directory}/${entry.name}` }, 'delivered to ftp');
        }
      } catch (error) {
        throw ctx.signal.aborted ? deliveryAborted(error) : classify(error, destination, entries);
      } finally {
        ctx.signal.removeEventListener('abort', abort);
        client.close();
      }
      const host = destination.host.includes(':') ? `[${destination.host}]` : destination.host;
      return { location: `ftp://${host}:${destination.port}${directory}/` };
    },
  };
}

/** Upload under a temporary name in the current directory, then rename over the final one. */
async function put(client: Client, entry: PackageEntry): Promise<void> {
  const temporary = `.${entry.name}.${randomBytes(6).toString('hex')}.part`;
  // A path makes basic-ftp stream the file itself; a Buffer goes whole (Readable.from does not split it).
  const source = entry.source === 'file' ? entry.path : Readable.from(entry.body);
  try {
    await client.uploadFrom(source, temporary);
    await renameOver(client, temporary, entry.name);
  } catch (error) {
    if (!client.closed) await client.remove(temporary, true).catch(() => undefined);
    throw error;
  }
}

/** RNTO onto an existing name overwrites on most servers; some refuse, so a redelivery removes the old file first. */
async function renameOver(client: Client, from: string, to: string): Promise<void> {
  try {
    await client.rename(from, to);
  } catch (error) {
    if (!(error instanceof FTPError) || error.code < 500) throw error;
    await client.remove(to, true);
    await client.rename(from, to);
  }
}

/**
 * FTP reply codes: 530/532 are credentials (transient, the operator's to fix); other 4xx are
 * transient by definition; 550/552 (no permission, no space) are the operator's to fix too; the
 * remaining 5xx (syntax, not implemented, bad name) will not heal. No reply at all (refused
 * connection, timeout, TLS) is transient.
 */
function classify(error: unknown, destination: FtpDestination, entries: readonly PackageEntry[]): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const vanished = vanishedArtifact(error, entries);
  if (vanished) return vanished;
  const where = describeDestination(destination);
  const detail = scrub(error instanceof Error ? error.message : String(error), [destination.password]);
  if (error instanceof FTPError) {
    if (error.code === 530 || error.code === 532) return accessDenied(where, `FTP ${detail}`, { cause: error });
    if (error.code < 500 || error.code === 550 || error.code === 552) {
      return new DeliveryError('destination_unavailable', `${where} failed: FTP ${detail}`, { cause: error });
    }
    return new DeliveryError('destination_rejected', `${where} rejected the upload: FTP ${detail}`, { permanent: true, cause: error });
  }
  return new DeliveryError('destination_unavailable', `${where} failed: ${detail}`, { cause: error });
}

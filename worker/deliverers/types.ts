import type { FileRef, Logger } from '../../shared/index.js';

/**
 * What a file-like delivery target (S3, FTP, the shared volume) writes for one finished task,
 * under `<prefix>/<task_id>/`:
 *   <artifact names>   the output files, byte for byte as task_result serves them (SUCCESS only)
 *   result.json        JSON.stringify(result): the bytes task_result answers for a JSON result (SUCCESS only)
 *   status.json        the task's status document, always, and always last: its presence says
 *                      the rest is complete.
 */
export interface DeliveryPackage {
  taskId: string;
  /** The task's status document (what task_status answers). */
  status: unknown;
  /** Present exactly when the task succeeded (it may be null: a processor that returned nothing). */
  result?: unknown;
  /** Output files on the shared volume (`volume:` locations); empty unless SUCCESS. */
  artifacts: FileRef[];
}

export interface FileDeliveryContext {
  /** The shared volume, to resolve `volume:` locations of artifacts. */
  dataDir: string;
  /** Aborts on shutdown or the delivery's timeout: stop and throw. */
  signal: AbortSignal;
  log: Logger;
}

/** Where in a destination the client asked for its files (already validated: a relative path of safe segments, or empty). */
export interface FileTarget {
  /** Name of an operator-configured destination (S3_DESTINATIONS / FTP_DESTINATIONS); unused by the volume. */
  destination?: string;
  /** Client-chosen sub-path under the destination's own prefix/root. */
  path?: string;
}

export interface FileDeliverer {
  readonly kind: 's3' | 'ftp' | 'volume';
  /** Write the package; resolve with where it landed (e.g. `s3://bucket/prefix/<id>/`), or throw a DeliveryError. */
  deliver(delivery: DeliveryPackage, target: FileTarget, ctx: FileDeliveryContext): Promise<{ location: string }>;
  /** Release connections/clients. */
  close?(): Promise<void>;
}

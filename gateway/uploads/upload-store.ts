import type { FileRef } from '../../shared/index.js';
import type { UploadedFile } from './accept.js';

/**
 * Where accepted uploads go once they are checked (UPLOAD_STORE): the shared volume or an S3
 * destination. Staging, limits and sniffing happen before, the same for both.
 */
export interface UploadStore {
  /** Moves a task's checked, staged files to where workers read them, and describes them. */
  commit(files: readonly UploadedFile[], types: readonly string[], taskId: string): Promise<FileRef[]>;
  /** Removes what `commit` stored for a task that was not accepted. */
  discard(taskId: string, files: readonly FileRef[]): Promise<void>;
  close(): void;
}

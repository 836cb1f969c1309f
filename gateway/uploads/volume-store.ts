import fs from 'node:fs/promises';
import path from 'node:path';
import { safeFileName, toLocation, uploadDir, uploadFileName } from '../../shared/index.js';
import type { UploadStore } from './upload-store.js';

/** Uploads on the shared volume, DATA_DIR/uploads/<task id>/: a rename from staging, no copy. */
export function volumeUploadStore(dataDir: string): UploadStore {
  return {
    async commit(files, types, taskId) {
      if (files.length === 0) return [];
      const dir = uploadDir(dataDir, taskId);
      await fs.mkdir(dir, { recursive: true });
      return Promise.all(
        files.map(async (file, index) => {
          const name = safeFileName(file.originalname);
          const target = path.join(dir, uploadFileName(index, name));
          await fs.rename(file.path, target);
          return { name, content_type: types[index]!, size: file.size, location: toLocation(dataDir, target) };
        }),
      );
    },
    async discard(taskId) {
      await fs.rm(uploadDir(dataDir, taskId), { recursive: true, force: true });
    },
    close() {},
  };
}

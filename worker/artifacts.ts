import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { artifactDir, safeFileName, toLocation, type ArtifactWriter, type FileRef } from '../shared/index.js';

/**
 * Writes a task's output files under DATA_DIR/artifacts/<task id>/, each atomically (a temporary
 * name, then a rename), so a reader never sees half a file; remembers what was written so the
 * runner can put it in the SUCCESS event.
 */
export function createArtifactWriter(dataDir: string, taskId: string): ArtifactWriter & { written(): FileRef[] } {
  const dir = artifactDir(dataDir, taskId);
  const written = new Map<string, FileRef>();
  return {
    async write(name, data, contentType) {
      const fileName = safeFileName(name, 'artifact');
      await fs.mkdir(dir, { recursive: true });
      const target = path.join(dir, fileName);
      const temporary = path.join(dir, `.${fileName}.${randomUUID()}.tmp`);
      await fs.writeFile(temporary, data);
      await fs.rename(temporary, target);
      const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      const ref: FileRef = { name: fileName, content_type: contentType, size, location: toLocation(dataDir, target) };
      written.set(fileName, ref);
      return ref;
    },
    written: () => [...written.values()],
  };
}

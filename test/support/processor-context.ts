import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { resolveLocation, toLocation, uploadDir, type FileRef, type ProcessorContext } from '../../shared/index.js';
import { createArtifactWriter } from '../../worker/artifacts.js';

/**
 * A real ProcessorContext for testing a processor directly, without a broker: files and artifacts
 * live in a temporary DATA_DIR, progress reports are collected, and `abort` aborts the signal.
 */
export interface TestContext {
  ctx: ProcessorContext;
  dataDir: string;
  progress: { fraction: number; message: string | undefined }[];
  artifacts: () => FileRef[];
  abort: (reason?: unknown) => void;
  /** Put bytes on the volume as an uploaded input file of this task. */
  addFile: (name: string, data: string | Uint8Array, contentType: string) => FileRef;
  cleanup: () => void;
}

export function testContext(): TestContext {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-processor-'));
  const taskId = randomUUID();
  const controller = new AbortController();
  const writer = createArtifactWriter(dataDir, taskId);
  const progress: TestContext['progress'] = [];
  let files = 0;
  return {
    dataDir,
    progress,
    artifacts: () => writer.written(),
    abort: (reason) => controller.abort(reason),
    addFile(name, data, contentType) {
      const dir = uploadDir(dataDir, taskId);
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${files++}-${name}`);
      fs.writeFileSync(file, data);
      return { name, content_type: contentType, size: fs.statSync(file).size, location: toLocation(dataDir, file) };
    },
    cleanup: () => fs.rmSync(dataDir, { recursive: true, force: true }),
    ctx: {
      taskId,
      attempt: 1,
      log: pino({ level: process.env.WARREN_TEST_LOGS ? 'debug' : 'silent' }),
      progress: (fraction, message) => progress.push({ fraction, message }),
      signal: controller.signal,
      filePath: (file) => resolveLocation(dataDir, file.location),
      artifacts: writer,
      maxResultBytes: 8 * 1024 * 1024,
    },
  };
}

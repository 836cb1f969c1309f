import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { FileRef } from '../../shared/index.js';
import { createArtifactWriter } from '../../worker/artifacts.js';
import type { DeliveryPackage, FileDeliveryContext } from '../../worker/deliverers/types.js';

/**
 * A finished task as a deliverer receives it: a temporary DATA_DIR holding its artifacts (written
 * the way workers write them), the package naming them, and a delivery context.
 */
export interface TestDelivery {
  dataDir: string;
  delivery: DeliveryPackage;
  ctx: FileDeliveryContext;
  /** Artifact name → sha256 of its bytes. */
  digests: Map<string, string>;
  /** What result.json and status.json must contain, byte for byte. */
  resultJson: string;
  statusJson: string;
  cleanup(): void;
}

export interface ArtifactSpec {
  name: string;
  size: number;
  contentType?: string;
}

export async function testDelivery(artifacts: ArtifactSpec[], options: { signal?: AbortSignal } = {}): Promise<TestDelivery> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-deliver-'));
  const taskId = randomUUID();
  const writer = createArtifactWriter(dataDir, taskId);
  const digests = new Map<string, string>();
  const refs: FileRef[] = [];
  for (const spec of artifacts) {
    const bytes = randomBytes(spec.size);
    refs.push(await writer.write(spec.name, bytes, spec.contentType ?? 'application/octet-stream'));
    digests.set(spec.name, sha256(bytes));
  }
  const result = { label: 'invoice', score: 0.93, note: 'ünïcode ✓' };
  const status = { task_id: taskId, status: 'SUCCESS', progress: 1, attempts: 1 };
  return {
    dataDir,
    delivery: { taskId, status, result, artifacts: refs },
    ctx: { dataDir, signal: options.signal ?? new AbortController().signal, log: pino({ level: 'silent' }) },
    digests,
    resultJson: JSON.stringify(result),
    statusJson: JSON.stringify(status),
    cleanup: () => fs.rmSync(dataDir, { recursive: true, force: true }),
  };
}

/** Test deliveries made during a test, removed together (call `cleanup` in afterEach). */
export function deliveryFixtures(): { make(artifacts?: ArtifactSpec[], options?: { signal?: AbortSignal }): Promise<TestDelivery>; cleanup(): void } {
  const made: TestDelivery[] = [];
  return {
    async make(artifacts = [], options = {}) {
      const delivery = await testDelivery(artifacts, options);
      made.push(delivery);
      return delivery;
    },
    cleanup: () => {
      for (const delivery of made.splice(0)) delivery.cleanup();
    },
  };
}

/** What a directory holds: file name → sha256 of its bytes. */
export function directoryDigests(directory: string): Map<string, string> {
  return new Map(fs.readdirSync(directory).map((name) => [name, sha256(fs.readFileSync(path.join(directory, name)))]));
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** sha256 of a stream, without holding it whole. */
export async function streamSha256(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest('hex');
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILTIN_DESCRIPTORS } from '../../shared/index.js';
import { deletePrefix, TEST_AMQP_URL, uniquePrefix } from './broker.js';
import { startGateway, startProcess, startWorker, type Gateway, type WarrenProcess } from './processes.js';

/**
 * A private warren for one test file: its own AMQP prefix on the shared broker and its own
 * DATA_DIR, echo as the default processor, and one `stop()` that stops every process it started
 * and removes every queue, exchange and file it made.
 */
export interface TestStack {
  prefix: string;
  dataDir: string;
  env: Record<string, string>;
  gateway(extraEnv?: Record<string, string>): Promise<Gateway>;
  worker(extraEnv?: Record<string, string>): Promise<WarrenProcess>;
  /** A worker not waited for: for tests where a worker may die before it says it is ready. */
  spawnWorker(extraEnv?: Record<string, string>): WarrenProcess;
  stop(): Promise<void>;
}

export function testStack(name: string, env: Record<string, string> = {}, options: { extraProcessors?: string[]; ownBroker?: boolean } = {}): TestStack {
  const prefix = uniquePrefix();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `warren-${name}-`));
  // One retry tier, not the default four: every quorum queue is a Raft group, and a dozen test
  // files declaring theirs at once on a 2-core broker is slow enough already.
  const stackEnv = {
    AMQP_URL: TEST_AMQP_URL,
    AMQP_PREFIX: prefix,
    DATA_DIR: dataDir,
    DEFAULT_PROCESSOR: 'echo',
    WORKER_PROCESSORS: 'echo',
    RETRY_DELAYS_MS: '1000',
    DELIVERY_RETRY_DELAYS_MS: '1000',
    ...env,
  };
  const started: WarrenProcess[] = [];
  const track = async <T extends WarrenProcess>(starting: Promise<T>): Promise<T> => {
    const process = await starting;
    started.push(process);
    return process;
  };
  return {
    prefix,
    dataDir,
    env: stackEnv,
    gateway: (extraEnv = {}) => track(startGateway({ ...stackEnv, ...extraEnv })),
    worker: (extraEnv = {}) => track(startWorker({ ...stackEnv, ...extraEnv })),
    spawnWorker(extraEnv = {}) {
      const worker = startProcess('worker/main.ts', { ...stackEnv, ...extraEnv });
      started.push(worker);
      return worker;
    },
    async stop() {
      await Promise.all(started.map((p) => p.stop()));
      const retryDelays = stackEnv.RETRY_DELAYS_MS.split(',').map(Number);
      const deliveryRetryDelays = stackEnv.DELIVERY_RETRY_DELAYS_MS.split(',').map(Number);
      // A broker of the test's own (env.AMQP_URL) goes away with its data; only the shared one needs tidying.
      if (!options.ownBroker)
        await deletePrefix(prefix, [...BUILTIN_DESCRIPTORS.map((p) => p.name), ...(options.extraProcessors ?? [])], retryDelays, deliveryRetryDelays);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

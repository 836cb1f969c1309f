import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRecorder } from '../gateway/background/recorder.js';
import { BUILTIN_DESCRIPTORS, brokerFromConfig, createLogger, loadConfig, publishTask, taskMessage, type Consumer } from '../shared/index.js';
import { openStore } from '../gateway/store/index.js';
import { deletePrefix, TEST_AMQP_URL, uniquePrefix } from '../test/support/broker.js';
import { startBenchProcess, warrenReady, type BenchProcess } from './spawn.js';
import { brokerPid, cpuMeter, drive } from './stats.js';
import { linksFor } from '../gateway/links.js';

export interface PipelineOptions {
  tasks: number;
  inFlight: number;
  latencyTasks: number;
  warmup: number;
  /** The worker's WORKER_CONCURRENCY and the raw responder's prefetch (warren's default 16). */
  prefetch: number;
}

/** What one side measured: the loaded run, the one-at-a-time run, and CPU ms per task under load. */
export interface PipelineFigures {
  loaded: { seconds: number; latencies: number[]; errors: number };
  single: { seconds: number; latencies: number[]; errors: number };
  cpu: Record<string, number>;
  /** Tasks that did not end as they should (warren: not SUCCESS in the store). */
  lost: number;
}

/** A request that never comes back fails after this long, so no run can hang. */
export const ROUND_TRIP_TIMEOUT_MS = 30_000;

/**
 * warren's pipeline without HTTP: this process plays the gateway's part — insertPending and
 * publishTask (confirmed) through a shared/ Broker, and the recorder (gateway/background/recorder.ts)
 * committing events to SQLite — against a real worker process serving echo. A task is done when
 * the recorder has committed its SUCCESS (its `onFinished`), which is when a poll would first see it.
 * Configuration comes from loadConfig, so queue arguments, prefetches and the store are warren's defaults.
 */
export async function runWarrenPipeline({ tasks, inFlight, latencyTasks, warmup, prefetch }: PipelineOptions, logDir: string): Promise<PipelineFigures> {
  const prefix = uniquePrefix();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-'));
  const env = { AMQP_URL: TEST_AMQP_URL, AMQP_PREFIX: prefix, DATA_DIR: dataDir, WORKER_PROCESSORS: 'echo', WORKER_CONCURRENCY: String(prefetch) };
  const config = loadConfig(env);
  const logger = createLogger('bench', 'warn');
  const store = await openStore(config.storeUrl, { poolSize: config.storePoolSize });
  // The gateway declares every built-in processor's queue; so does this stand-in.
  const broker = brokerFromConfig(
    config,
    'bench-gateway',
    BUILTIN_DESCRIPTORS.map((p) => p.name),
    logger,
  );
  const waiting = new Map<string, () => void>();
  let recorder: Consumer | undefined;
  let worker: BenchProcess | undefined;
  try {
    await broker.ready(15_000);
    recorder = startRecorder({
      broker,
      store,
      logger,
      prefetch: config.recorderPrefetch,
      links: linksFor(config.basePath),
      onFinished: (taskId) => {
        waiting.get(taskId)?.();
        waiting.delete(taskId);
      },
    });
    worker = await startBenchProcess({ entry: 'worker/main.ts', env, ready: warrenReady.worker, logDir });

    // What POST /uploader does after validation, then waiting for the recorder's commit.
    const task = async (n: number): Promise<void> => {
      const id = randomUUID();
      const createdAt = Date.now();
      const input = { fields: { item_a: `task-${n}`, item_b: 'pipeline' }, files: [] };
      let timer: NodeJS.Timeout | undefined;
      const recorded = new Promise<void>((resolve, reject) => {
        waiting.set(id, resolve);
        timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`task ${id} not recorded within ${ROUND_TRIP_TIMEOUT_MS} ms`));
        }, ROUND_TRIP_TIMEOUT_MS);
      });
      try {
        await store.insertPending({ id, processor: 'echo', input, createdAt });
        await publishTask(broker, taskMessage({ task_id: id, processor: 'echo', submitted_at: new Date(createdAt).toISOString(), attempt: 1, input }));
        await recorded;
      } finally {
        clearTimeout(timer);
        waiting.delete(id);
      }
    };

    await drive(warmup, inFlight, task);
    const brokerProcess = brokerPid();
    const meter = cpuMeter({ requester: [process.pid], responder: [worker.pid], ...(brokerProcess ? { broker: [brokerProcess] } : {}) });
    const loaded = await drive(tasks, inFlight, task);
    const cpu = meter.stop(tasks);
    const single = await drive(latencyTasks, 1, task);
    // Every task submitted (warm-up included) must have ended SUCCESS in the store.
    const { byStatus } = await store.counts([]);
    const lost = warmup + tasks + latencyTasks - byStatus.SUCCESS;
    return { loaded, single, cpu, lost };
  } finally {
    await worker?.stop();
    await recorder?.stop();
    await broker.close();
    await store.close();
    await deletePrefix(prefix);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

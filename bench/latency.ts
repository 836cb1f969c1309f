import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deletePrefix, TEST_AMQP_URL, uniquePrefix } from '../test/support/broker.js';
import { startGateway, startWorker, type WarrenProcess } from '../test/support/processes.js';
import { percentiles } from './http.js';
import { startTogether } from './support/start.js';

/**
 * Latency at low load: one client submits echo tasks one after another with `Prefer: wait=10`, so
 * the answer comes the moment the task is recorded — no polling interval in the figure.
 *   npm run bench -- latency --tasks 500
 */
export async function runLatencyBench({ tasks }: { tasks: number }): Promise<Record<string, unknown>> {
  const prefix = uniquePrefix();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-'));
  const env = { AMQP_URL: TEST_AMQP_URL, AMQP_PREFIX: prefix, DATA_DIR: dataDir, LOG_LEVEL: 'warn', DEFAULT_PROCESSOR: 'echo', WORKER_PROCESSORS: 'echo' };
  const processes: WarrenProcess[] = [];
  try {
    const [, gateway] = await startTogether(processes, startWorker({ ...env, LOG_LEVEL: 'info' }), startGateway({ ...env, LOG_LEVEL: 'info' }));
    const latencies: number[] = [];
    let errors = 0;
    for (let n = 0; n < tasks + 20; n += 1) {
      const t0 = performance.now();
      const response = await fetch(`${gateway.url}/uploader`, {
        method: 'POST',
        body: new URLSearchParams({ item_a: `task-${n}` }),
        headers: { prefer: 'wait=10', accept: 'application/json' },
      });
      const body = (await response.json()) as { status?: string };
      const elapsed = performance.now() - t0;
      if (response.status !== 200 || body.status !== 'SUCCESS') errors += 1;
      else if (n >= 20) latencies.push(elapsed); // the first 20 warm up connections and JIT
    }
    return { bench: 'latency', tasks, errors, submit_to_success_ms: percentiles(latencies) };
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await deletePrefix(prefix);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

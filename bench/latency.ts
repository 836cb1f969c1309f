import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deletePrefix, TEST_AMQP_URL, uniquePrefix } from '../test/support/broker.js';
import { percentiles } from './http.js';
import { runRawAmqp } from './raw-amqp.js';
import { ratio } from './stats.js';
import { startBenchProcess, warrenReady, type BenchProcess } from './spawn.js';

/**
 * Latency at low load: one client submits echo tasks one after another with `Prefer: wait=10`, so
 * the answer comes the moment the task is recorded — no polling interval in the figure. Next to it,
 * in the same run, raw amqplib request/reply one at a time on quorum queues with confirms and a
 * STARTED message (bench/raw-amqp.ts: warren's three messages per task, without HTTP or a store):
 * the floor the broker sets on this machine.
 *   npm run bench -- latency --tasks 500
 */
export async function runLatencyBench({ tasks }: { tasks: number }): Promise<Record<string, unknown>> {
  const prefix = uniquePrefix();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-'));
  // Logs go to files, as in the other benches: a parent that read and parsed every line of the
  // children's stdout (the tests' harness does) would add its own work to each measured request.
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-logs-'));
  const env = { AMQP_URL: TEST_AMQP_URL, AMQP_PREFIX: prefix, DATA_DIR: dataDir, LOG_LEVEL: 'info', DEFAULT_PROCESSOR: 'echo', WORKER_PROCESSORS: 'echo' };
  const processes: BenchProcess[] = [];
  try {
    processes.push(await startBenchProcess({ entry: 'worker/main.ts', env, ready: warrenReady.worker, logDir }));
    const gateway = await startBenchProcess({ entry: 'gateway/main.ts', env: { ...env, PORT: '0' }, ready: warrenReady.gateway, logDir });
    processes.push(gateway);
    const url = `http://127.0.0.1:${String(gateway.readyLines[0]!.port)}/prediction`;
    const latencies: number[] = [];
    let errors = 0;
    for (let n = 0; n < tasks + 20; n += 1) {
      const t0 = performance.now();
      const response = await fetch(`${url}/uploader`, {
        method: 'POST',
        body: new URLSearchParams({ item_a: `task-${n}` }),
        headers: { prefer: 'wait=10', accept: 'application/json' },
      });
      const body = (await response.json()) as { status?: string };
      const elapsed = performance.now() - t0;
      if (response.status !== 200 || body.status !== 'SUCCESS') errors += 1;
      else if (n >= 20) latencies.push(elapsed); // the first 20 warm up connections and JIT
    }
    await Promise.all(processes.splice(0).map((p) => p.stop()));
    const raw = await runRawAmqp({ tasks: 20, inFlight: 1, latencyTasks: tasks, warmup: 20, prefetch: 16 }, logDir, 2);
    const warren = percentiles(latencies);
    const floor = percentiles(raw.single.latencies);
    return {
      bench: 'latency',
      tasks,
      errors: errors + raw.single.errors,
      submit_to_success_ms: warren,
      raw_request_reply_ms: floor,
      p50_over_raw: ratio(warren.p50, floor.p50),
      p99_over_raw: ratio(warren.p99, floor.p99),
    };
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await deletePrefix(prefix);
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deletePrefix, TEST_AMQP_URL, uniquePrefix } from '../test/support/broker.js';
import { submitForm, waitForTerminal, type Submitted } from '../test/support/client.js';
import { startGateway, startWorker, type WarrenProcess } from '../test/support/processes.js';

/**
 * HTTP end to end: N clients submit echo tasks, poll task_status until SUCCESS and fetch
 * task_result, polls spread over G gateway processes. Prints one JSON line with the figures.
 *   npm run bench -- http --tasks 4000 --clients 32 --gateways 2
 */
export interface HttpBenchOptions {
  tasks: number;
  clients: number;
  gateways: number;
  pollMs: number;
}

export async function runHttpBench({ tasks, clients, gateways, pollMs }: HttpBenchOptions): Promise<Record<string, unknown>> {
  const prefix = uniquePrefix();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-'));
  const env = { AMQP_URL: TEST_AMQP_URL, AMQP_PREFIX: prefix, DATA_DIR: dataDir, LOG_LEVEL: 'warn', DEFAULT_PROCESSOR: 'echo', WORKER_PROCESSORS: 'echo' };
  const processes: WarrenProcess[] = [];
  try {
    const worker = await startWorker({ ...env, LOG_LEVEL: 'info' });
    processes.push(worker);
    const started = await Promise.all(Array.from({ length: gateways }, () => startGateway({ ...env, LOG_LEVEL: 'info' })));
    processes.push(...started);
    const urls = started.map((g) => g.url);

    const submitLatencies: number[] = [];
    const endToEnd: number[] = [];
    let errors = 0;
    let lost = 0;
    let next = 0;
    const begin = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        for (let n = next++; n < tasks; n = next++) {
          const t0 = performance.now();
          const response = await submitForm(urls[n % urls.length]!, { item_a: `task-${n}`, item_b: `client-${client}` });
          submitLatencies.push(performance.now() - t0);
          if (response.status !== 202) {
            errors += 1;
            await response.body?.cancel();
            continue;
          }
          const { task_id } = (await response.json()) as Submitted;
          let poll = 0;
          const status = await waitForTerminal(() => urls[(n + ++poll) % urls.length]!, task_id, 120_000, pollMs);
          endToEnd.push(performance.now() - t0);
          const result = await fetch(`${urls[(n + 1) % urls.length]}/task_result/${task_id}`);
          const body = (await result.json()) as { fields?: { item_a?: string } };
          if (status.status !== 'SUCCESS' || body.fields?.item_a !== `task-${n}`) lost += 1;
        }
      }),
    );
    const seconds = (performance.now() - begin) / 1000;
    return {
      bench: 'http-e2e',
      tasks,
      clients,
      gateways,
      poll_ms: pollMs,
      seconds: round(seconds),
      tasks_per_s: round(tasks / seconds),
      errors,
      lost,
      submit_ms: percentiles(submitLatencies),
      end_to_end_ms: percentiles(endToEnd),
    };
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await deletePrefix(prefix);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export function percentiles(values: number[]): { p50: number; p95: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deletePrefix, TEST_AMQP_URL, uniquePrefix } from '../test/support/broker.js';
import { submitForm, waitForTerminal, type Submitted } from '../test/support/client.js';
import { startBenchProcess, warrenReady, type BenchProcess } from './spawn.js';
import { percentiles, round, type Percentiles } from './stats.js';

export { percentiles } from './stats.js';

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
  const processes: BenchProcess[] = [];
  // Logs go to files, not through this process: parsing every access-log line here would charge
  // the load generator's CPU to warren.
  const logDir = path.join(dataDir, 'logs');
  fs.mkdirSync(logDir);
  try {
    processes.push(await startBenchProcess({ entry: 'worker/main.ts', env: { ...env, LOG_LEVEL: 'info' }, ready: warrenReady.worker, logDir }));
    const started: BenchProcess[] = [];
    for (let i = 0; i < gateways; i += 1) {
      started.push(await startBenchProcess({ entry: 'gateway/main.ts', env: { ...env, LOG_LEVEL: 'info', PORT: '0' }, ready: warrenReady.gateway, logDir }));
    }
    processes.push(...started);
    const run = await driveHttpClients(
      started.map((g) => `http://127.0.0.1:${String(g.readyLines[0]!.port)}/prediction`),
      { tasks, clients, pollMs },
    );
    return {
      bench: 'http-e2e',
      tasks,
      clients,
      gateways,
      poll_ms: pollMs,
      seconds: run.seconds,
      tasks_per_s: run.tasks_per_s,
      errors: run.errors,
      lost: run.lost,
      submit_ms: run.submit_ms,
      end_to_end_ms: run.end_to_end_ms,
    };
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await deletePrefix(prefix);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export interface ClientRun {
  seconds: number;
  tasks_per_s: number;
  errors: number;
  /** Finished, but not SUCCESS or the result is not the task's own. */
  lost: number;
  /** What went wrong first, when anything did. */
  first_error?: string;
  /** task_status requests per task (1 when the first poll already sees SUCCESS). */
  polls_per_task: number;
  submit_ms: Percentiles;
  end_to_end_ms: Percentiles;
}

/**
 * The client every HTTP benchmark uses, whatever answers it: `clients` loops, each submits a form
 * to /uploader (servers taken in turn), polls task_status every `pollMs` on alternating servers
 * until the task is terminal, then fetches task_result and checks it is the task's own.
 */
export async function driveHttpClients(
  urls: readonly string[],
  { tasks, clients, pollMs }: { tasks: number; clients: number; pollMs: number },
): Promise<ClientRun> {
  const submitLatencies: number[] = [];
  const endToEnd: number[] = [];
  let errors = 0;
  let lost = 0;
  let polls = 0;
  let firstError: string | undefined;
  let next = 0;
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let n = next++; n < tasks; n = next++) {
        const t0 = performance.now();
        try {
          const response = await submitForm(urls[n % urls.length]!, { item_a: `task-${n}`, item_b: `client-${client}` });
          submitLatencies.push(performance.now() - t0);
          if (response.status !== 202) {
            errors += 1;
            firstError ??= `submit answered ${response.status}`;
            await response.body?.cancel();
            continue;
          }
          const { task_id } = (await response.json()) as Submitted;
          let poll = 0;
          const status = await waitForTerminal(() => urls[(n + ++poll) % urls.length]!, task_id, 120_000, pollMs);
          polls += poll;
          endToEnd.push(performance.now() - t0);
          const result = await fetch(`${urls[(n + 1) % urls.length]}/task_result/${task_id}`);
          const body = (await result.json()) as { fields?: { item_a?: string } };
          if (status.status !== 'SUCCESS' || body.fields?.item_a !== `task-${n}`) lost += 1;
        } catch (err) {
          // A refused connection or a poll that timed out: counted, and the other clients go on.
          errors += 1;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    }),
  );
  const seconds = (performance.now() - begin) / 1000;
  return {
    seconds: round(seconds),
    tasks_per_s: round(tasks / seconds),
    errors,
    lost,
    ...(firstError === undefined ? {} : { first_error: firstError }),
    polls_per_task: round(polls / Math.max(1, endToEnd.length)),
    submit_ms: percentiles(submitLatencies),
    end_to_end_ms: percentiles(endToEnd),
  };
}

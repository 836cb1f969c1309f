import fs from 'node:fs';
import path from 'node:path';
import { deletePrefix, uniquePrefix } from '../test/support/broker.js';
import { driveHttpClients, type ClientRun } from './http.js';
import { profilesByPid, selfTimes, topRows } from './profile.js';
import { ratio, round } from './stats.js';
import { CaseRuns, withPrefix, type Row } from './measure.js';
import { startCeiling, startWarren } from './targets.js';

/**
 * warren against its HTTP ceiling, in one run, with one client: the same `driveHttpClients`
 * first against G do-nothing servers (bench/ceiling-http.ts), then against warren (1 worker,
 * G gateways, echo), at each concurrency. Besides tasks/s and latencies, each case charges the
 * CPU every process used to the tasks (ms per task), which on a shared 2-core machine says more
 * than throughput about where the time goes. `--profile` adds one more warren run at the highest
 * concurrency with `--cpu-prof` on the gateways and the worker, summarised by self time.
 *   npm run bench -- http-compare [--tasks 3000 --concurrency 32,128 --gateways 2 --poll-ms 10 --warmup 300 --profile]
 */
export interface HttpCompareOptions {
  tasks: number;
  concurrency: number[];
  gateways: number;
  pollMs: number;
  warmup: number;
  profile: boolean;
}

export async function runHttpCompare(options: HttpCompareOptions): Promise<Record<string, unknown>> {
  const cases = new CaseRuns(options, (target, clients, run, earlier) => caseRow(target, clients, run, earlier.get(`ceiling@${clients}`)));
  const { logDir, runs } = cases;
  try {
    await cases.measure(() => startCeiling(options.gateways, logDir));
    await withPrefix((prefix) => cases.measure(() => startWarren({ prefix, gateways: options.gateways, logDir })));
    const result: Record<string, unknown> = {
      bench: 'http-compare',
      tasks: options.tasks,
      gateways: options.gateways,
      poll_ms: options.pollMs,
      warmup: options.warmup,
      tables: { cases: cases.rows, cpu_ms_per_task: cases.cpuRows } as Record<string, Row[]>,
    };
    if (options.profile)
      Object.assign(result.tables as Record<string, Row[]>, await profileWarren(options, logDir, runs.get(`ceiling@${Math.max(...options.concurrency)}`)));
    return result;
  } finally {
    cases.finish();
  }
}

function caseRow(target: string, clients: number, run: ClientRun, ceiling: ClientRun | undefined): Row {
  return {
    case: `${target} c=${clients}`,
    'tasks/s': run.tasks_per_s,
    errors: run.errors,
    lost: run.lost,
    'submit p50': run.submit_ms.p50,
    'submit p99': run.submit_ms.p99,
    'e2e p50': run.end_to_end_ms.p50,
    'e2e p95': run.end_to_end_ms.p95,
    'e2e p99': run.end_to_end_ms.p99,
    'polls/task': run.polls_per_task,
    // warren as a share of the ceiling's throughput, and how many times the ceiling's latency.
    'tasks/s vs ceiling': target === 'ceiling' ? null : ratio(run.tasks_per_s, ceiling?.tasks_per_s),
    'e2e p50 vs ceiling': target === 'ceiling' ? null : ratio(run.end_to_end_ms.p50, ceiling?.end_to_end_ms.p50),
  };
}

/**
 * One more warren run at the highest concurrency, gateways and worker under `--cpu-prof`, counted
 * only between the start and the end of the measured run. The profiles are kept under
 * bench/results/ (not committed) to open in Chrome DevTools.
 */
async function profileWarren(options: HttpCompareOptions, logDir: string, ceiling: ClientRun | undefined): Promise<Record<string, Row[]>> {
  const clients = Math.max(...options.concurrency);
  const profileDir = path.resolve('bench', 'results', `profile-${Date.now()}`);
  fs.mkdirSync(profileDir, { recursive: true });
  const prefix = uniquePrefix();
  let window = { fromUs: 0, toUs: 0 };
  let run: ClientRun;
  let pids: { gateways: number[]; worker: number };
  try {
    const target = await startWarren({ prefix, gateways: options.gateways, logDir, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profileDir] });
    pids = { gateways: target.cpu.servers as number[], worker: target.cpu.worker![0]! };
    try {
      await driveHttpClients(target.urls, { tasks: options.warmup, clients, pollMs: options.pollMs });
      const fromUs = Number(process.hrtime.bigint() / 1000n);
      run = await driveHttpClients(target.urls, { tasks: options.tasks, clients, pollMs: options.pollMs });
      window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
    } finally {
      await target.stop(); // the profiles are written as the processes exit
    }
  } finally {
    await deletePrefix(prefix);
  }
  const files = profilesByPid(profileDir);
  const pick = (list: number[]): string[] => list.flatMap((pid) => files.get(pid) ?? []);
  const gateway = selfTimes(pick(pids.gateways), window);
  const worker = selfTimes(pick([pids.worker]), window);
  const summary = (role: string, times: typeof gateway): Row => ({
    role,
    'window s': round((window.toUs - window.fromUs) / 1e6),
    'busy ms': round(times.totalMs - times.idleMs, 0),
    'busy ms/task': round((times.totalMs - times.idleMs) / options.tasks, 3),
  });
  console.log(`profiles (open in Chrome DevTools): ${profileDir}`);
  return {
    profiled_run: [{ ...caseRow('warren', clients, run, ceiling), case: `warren c=${clients} under --cpu-prof` }],
    profile_summary: [summary(`gateways (${pids.gateways.length})`, gateway), summary('worker', worker)],
    gateway_by_package: topRows(gateway, 'byPackage', 12),
    gateway_top_functions: topRows(gateway, 'byFunction', 20),
    worker_by_package: topRows(worker, 'byPackage', 12),
    worker_top_functions: topRows(worker, 'byFunction', 20),
  };
}

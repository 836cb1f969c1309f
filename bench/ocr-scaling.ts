import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deletePrefix, TEST_AMQP_URL, uniquePrefix } from '../test/support/broker.js';
import { waitForTerminal } from '../test/support/client.js';
import { startTogether } from './support/start.js';
import { startGateway, startWorker, type WarrenProcess } from '../test/support/processes.js';
import { allProcessesCpu, cpuSeconds, machineCpu, percentOfMachine, threadCount, topOthers } from './support/proc.js';

/**
 * Document OCR throughput through the whole system — a gateway process, the broker, and 1 or 2
 * worker processes (WORKER_PROCESSORS=document) — in pages per second, and the scaling factor from
 * one worker process to two. Each worker runs min(2, cores) tesseract threads by default, which on
 * a 2-core machine already fills both cores with one process; so the benchmark also runs every
 * case with one tesseract thread per process (OCR_THREADS=1), the configuration
 * in which a second process has a free core to use.   npm run bench -- ocr-scaling --pages 80 --in-flight 16
 */
interface Case {
  workers: number;
  /** Tesseract threads per worker process; undefined: the processor's default. */
  ocrThreads?: number;
}

const CASES: Case[] = [{ workers: 1 }, { workers: 2 }, { workers: 1, ocrThreads: 1 }, { workers: 2, ocrThreads: 1 }];
const IMAGE = path.join('test', 'fixtures', 'invoice.png');
const DEFAULT_THREADS = Math.min(2, os.availableParallelism());

export async function runOcrScalingBench({ pages, inFlight }: { pages: number; inFlight: number }): Promise<Record<string, unknown>> {
  if (!Number.isInteger(pages) || pages < 1 || !Number.isInteger(inFlight) || inFlight < 1)
    throw new Error('--pages and --in-flight must be positive integers');
  const prefix = uniquePrefix();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-ocr-'));
  const env = {
    AMQP_URL: TEST_AMQP_URL,
    AMQP_PREFIX: prefix,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    DEFAULT_PROCESSOR: 'document',
    WORKER_PROCESSORS: 'document',
  };
  const png = new Blob([fs.readFileSync(IMAGE)], { type: 'image/png' });
  const processes: WarrenProcess[] = [];
  try {
    const gateway = await startGateway(env);
    processes.push(gateway);
    const runs: Record<string, unknown>[] = [];
    for (const testCase of CASES) {
      const threads = testCase.ocrThreads ?? DEFAULT_THREADS;
      const workerEnv = testCase.ocrThreads === undefined ? env : { ...env, OCR_THREADS: String(testCase.ocrThreads) };
      const workers = await startTogether(processes, ...Array.from({ length: testCase.workers }, () => startWorker(workerEnv)));
      try {
        // 'broker ready' comes before setup(): the tesseract pool is loaded once 'worker consuming' is logged.
        await Promise.all(workers.map((w) => w.waitForLog((line) => line.msg === 'worker consuming', 60_000)));
        // Warm-up: every tesseract thread compiles its wasm and loads the model on its first pages.
        await submitAll(gateway.url, png, testCase.workers * threads * 3, inFlight);

        const pids = [gateway, ...workers].map((p) => p.child.pid!);
        const cpuBefore = pids.map(cpuSeconds);
        const clientBefore = process.cpuUsage();
        const everyoneBefore = allProcessesCpu();
        const machineBefore = machineCpu();
        const loadBefore = os.loadavg()[0]!;
        const began = performance.now();
        const outcome = await submitAll(gateway.url, png, pages, inFlight);
        const seconds = (performance.now() - began) / 1000;
        const machineAfter = machineCpu();
        const everyoneAfter = allProcessesCpu();
        const cpu = pids.map((pid, index) => cpuSeconds(pid) - cpuBefore[index]!);
        const client = process.cpuUsage(clientBefore);
        const clientSeconds = (client.user + client.system) / 1e6;
        const ours = cpu.reduce((sum, value) => sum + value, 0) + clientSeconds;
        const pct = (cpuSeconds: number): number => percentOfMachine(cpuSeconds, machineBefore, machineAfter);
        runs.push({
          case: `${testCase.workers} worker${testCase.workers > 1 ? 's' : ''} × ${threads} OCR thread${threads > 1 ? 's' : ''}`,
          workers: testCase.workers,
          ocr_threads_per_worker: threads,
          pages,
          failed: outcome.failed,
          seconds: round(seconds),
          pages_per_s: round(pages / seconds),
          // Shares of all cores: busy in total, by the worker processes, and by everything that is
          // neither them, the gateway nor this client (the broker, and whatever else shares the box).
          machine_busy_pct: pct(machineAfter.busy - machineBefore.busy),
          workers_pct: pct(cpu.slice(1).reduce((sum, value) => sum + value, 0)),
          gateway_pct: pct(cpu[0]!),
          client_pct: pct(clientSeconds),
          others_pct: pct(machineAfter.busy - machineBefore.busy - ours),
          load_1m_before: round(loadBefore),
          top_others: topOthers(everyoneBefore, everyoneAfter, machineAfter.total - machineBefore.total, [...pids, process.pid]),
          // CPU per page does not depend on how much of the machine others take: 2 cores over it
          // is the most pages/s this machine could give (before the broker's share).
          workers_cpu_ms_per_page: Math.round((cpu.slice(1).reduce((sum, value) => sum + value, 0) * 1000) / pages),
          ours_cpu_ms_per_page: Math.round((ours * 1000) / pages),
          worker_os_threads: workers.map((w) => threadCount(w.child.pid!)),
        });
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
    }
    const rate = (workers: number, threads: number): number =>
      (runs.find((run) => run.workers === workers && run.ocr_threads_per_worker === threads)?.pages_per_s as number | undefined) ?? NaN;
    return {
      bench: 'ocr-scaling',
      image: IMAGE,
      pages,
      in_flight: inFlight,
      cores: os.availableParallelism(),
      pages_per_s: Object.fromEntries(runs.map((run) => [run.case, run.pages_per_s])),
      [`scaling_${DEFAULT_THREADS}_threads`]: round(rate(2, DEFAULT_THREADS) / rate(1, DEFAULT_THREADS)),
      scaling_1_thread: round(rate(2, 1) / rate(1, 1)),
      // bench/run.ts prints each table with a row per case.
      tables: { runs },
    };
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await deletePrefix(prefix);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Submit `count` one-page OCR tasks, `inFlight` at a time, each with `Prefer: wait` so the answer
 * comes when the task is done (polling only if the wait runs out). A task counts as done when it
 * succeeded with an OCR'd page.
 */
async function submitAll(baseUrl: string, png: Blob, count: number, inFlight: number): Promise<{ failed: number }> {
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (next < count) {
        next += 1;
        const form = new FormData();
        form.set('processor', 'document');
        form.set('file', png, 'page.png');
        const response = await fetch(`${baseUrl}/uploader`, { method: 'POST', body: form, headers: { accept: 'application/json', prefer: 'wait=60' } });
        const body = (await response.json()) as { task_id?: string; status?: string; result?: { pages?: { method?: string }[] } };
        let done = response.status === 200 ? body : undefined;
        if (response.status === 202 && body.task_id) {
          await waitForTerminal(baseUrl, body.task_id, 120_000, 50);
          done = (await (await fetch(`${baseUrl}/task_status/${body.task_id}`)).json()) as typeof body;
          done.result = (await (await fetch(`${baseUrl}/task_result/${body.task_id}`)).json()) as typeof body.result;
        }
        if (done?.status !== 'SUCCESS' || done.result?.pages?.[0]?.method !== 'ocr') failed += 1;
      }
    }),
  );
  return { failed };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

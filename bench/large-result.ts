import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deletePrefix, uniquePrefix } from '../test/support/broker.js';
import { startGateway, startWorker, type WarrenProcess } from '../test/support/processes.js';
import { percentiles } from './http.js';
import { startTogether } from './support/start.js';
import { warrenBenchEnv } from './targets.js';

/**
 * What a large result costs everyone else: one task returns `--mib` MiB of JSON (the test
 * fixture processor big-result), then `--clients` pollers ask its task_status as fast as they can
 * for `--seconds` while another client times GET /echo every 50 ms. A status read must not touch
 * the result (it lives apart since issue 13): poll and echo latencies should look like a small
 * task's, and the gateway's memory should not grow with the pollers.
 *   npm run bench -- large-result --result-mib 7 --clients 8 --seconds 5
 */
export async function runLargeResultBench({ mib, clients, seconds }: { mib: number; clients: number; seconds: number }): Promise<Record<string, unknown>> {
  const prefix = uniquePrefix();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-'));
  const env = warrenBenchEnv(prefix, dataDir, {
    WORKER_PROCESSORS: 'big-result',
    PROCESSORS_DIR: path.resolve('test/fixtures/processors'),
  });
  const processes: WarrenProcess[] = [];
  try {
    const [, gateway] = await startTogether(processes, startWorker(env), startGateway(env));
    const submitted = await fetch(`${gateway.url}/uploader`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'wait=60' },
      body: JSON.stringify({ processor: 'big-result', mib }),
    });
    const task = (await submitted.json()) as { task_id: string; status: string };
    if (task.status !== 'SUCCESS') throw new Error(`the big-result task ended ${task.status}`);
    const rssBefore = rssOf(gateway.child.pid!);

    const until = Date.now() + seconds * 1000;
    const polls: number[] = [];
    const echoes: number[] = [];
    const timed = async (url: string, into: number[]): Promise<void> => {
      const began = performance.now();
      const response = await fetch(url);
      await response.arrayBuffer();
      into.push(performance.now() - began);
    };
    const poller = async (): Promise<void> => {
      while (Date.now() < until) await timed(`${gateway.url}/task_status/${task.task_id}`, polls);
    };
    const echo = async (): Promise<void> => {
      while (Date.now() < until) {
        await timed(`${gateway.url}/echo`, echoes);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await Promise.all([...Array.from({ length: clients }, poller), echo()]);
    return {
      bench: 'large-result',
      result_mib: mib,
      clients,
      seconds,
      polls: polls.length,
      poll_ms: percentiles(polls),
      echo_ms: { ...percentiles(echoes), max: Math.round(Math.max(...echoes) * 10) / 10 },
      gateway_rss_mib: { before: rssBefore, peak: peakRssOf(gateway.child.pid!) },
    };
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await deletePrefix(prefix, ['categorize', 'document', 'ical', 'thumbnail', 'echo', 'crash', 'flaky', 'big-result']);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function statusField(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(match?.[1] ?? 0) / 1024);
}
const rssOf = (pid: number): number => statusField(pid, 'VmRSS');
const peakRssOf = (pid: number): number => statusField(pid, 'VmHWM');

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runHttpBench } from './http.js';
import { runHttpCompare } from './http-compare.js';
import { runLatencyBench } from './latency.js';
import { runBatchBench } from './batch.js';
import { runDeliveryBench } from './delivery.js';
import { runLargeResultBench } from './large-result.js';
import { runOcrBench } from './ocr.js';
import { runOcrScalingBench } from './ocr-scaling.js';
import { runPeersBench } from './peers.js';
import { runPipelineBench } from './raw-amqp.js';
import { runUploadBench } from './upload.js';

/**
 * `npm run bench -- <name> [flags]`: prints a table, writes JSON under bench/results/.
 *   http          --tasks 4000 --clients 32 --gateways 2 --poll-ms 10
 *   http-compare  --tasks 3000 --concurrency 32,128 --gateways 2 --poll-ms 10 --warmup 300 [--profile]
 *   pipeline      --tasks 3000 --in-flight 64 --latency-tasks 500 --warmup 300 --prefetch 16
 *   latency       --tasks 500
 *   delivery      --tasks 300
 *   ocr           --runs 10
 *   ocr-scaling   --pages 80 --in-flight 16
 *   upload        --mib 1024
 *   large-result  --result-mib 7 --clients 8 --seconds 5
 *   batch         --tasks 2000
 */
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    tasks: { type: 'string' },
    clients: { type: 'string', default: '32' },
    gateways: { type: 'string', default: '2' },
    'poll-ms': { type: 'string', default: '10' },
    runs: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '32,128' },
    warmup: { type: 'string', default: '300' },
    profile: { type: 'boolean', default: false },
    postgres: { type: 'boolean', default: false },
    // No default here: pipeline and ocr-scaling each have their own (64 and 16).
    'in-flight': { type: 'string' },
    'latency-tasks': { type: 'string', default: '500' },
    prefetch: { type: 'string', default: '16' },
    mib: { type: 'string', default: '1024' },
    pages: { type: 'string', default: '80' },
    seconds: { type: 'string', default: '5' },
    'result-mib': { type: 'string', default: '7' },
  },
});

const tasks = (fallback: number): number => Number(values.tasks ?? fallback);
const which = positionals[0] ?? 'http';
const benches: Record<string, () => Promise<Record<string, unknown>>> = {
  http: () => runHttpBench({ tasks: tasks(4000), clients: Number(values.clients), gateways: Number(values.gateways), pollMs: Number(values['poll-ms']) }),
  'http-compare': () =>
    runHttpCompare({
      tasks: tasks(3000),
      concurrency: values.concurrency.split(',').map(Number),
      gateways: Number(values.gateways),
      pollMs: Number(values['poll-ms']),
      warmup: Number(values.warmup),
      profile: values.profile,
    }),
  pipeline: () =>
    runPipelineBench({
      tasks: tasks(3000),
      inFlight: Number(values['in-flight'] ?? 64),
      latencyTasks: Number(values['latency-tasks']),
      warmup: Number(values.warmup),
      prefetch: Number(values.prefetch),
    }),
  ocr: () => runOcrBench({ runs: Number(values.runs) }),
  'ocr-scaling': () => runOcrScalingBench({ pages: Number(values.pages), inFlight: Number(values['in-flight'] ?? 16) }),
  upload: () => runUploadBench({ mib: Number(values.mib) }),
  latency: () => runLatencyBench({ tasks: tasks(500) }),
  delivery: () => runDeliveryBench({ tasks: tasks(300) }),
  batch: () => runBatchBench({ tasks: tasks(2000) }),
  peers: () =>
    runPeersBench({
      tasks: tasks(4000),
      concurrency: values.concurrency.split(',').map(Number),
      pollMs: Number(process.argv.includes('--poll-ms') ? values['poll-ms'] : 50),
      warmup: Number(values.warmup),
      postgres: values.postgres,
    }),
  'large-result': () =>
    runLargeResultBench({
      mib: Number(values['result-mib']),
      clients: Number(process.argv.includes('--clients') ? values.clients : 8),
      seconds: Number(values.seconds),
    }),
};
const bench = benches[which];
if (!bench) {
  console.error(`unknown benchmark "${which}"; available: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}

const result = await bench();
const record = {
  ...result,
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg() },
  at: new Date().toISOString(),
};
const { tables, ...scalars } = result as { tables?: Record<string, Record<string, unknown>[]> };
if (tables) {
  // Benchmarks with several cases: the settings on one line, then one table per aspect, a row per case.
  console.log(JSON.stringify({ ...scalars, loadavg: os.loadavg().map((load) => Math.round(load * 100) / 100) }));
  for (const [name, rows] of Object.entries(tables)) {
    console.log(`\n${name}`);
    // The case names as the index column, rather than 0, 1, 2…
    const named = rows.every((row) => typeof row.case === 'string');
    console.table(named ? Object.fromEntries(rows.map(({ case: name, ...rest }) => [name as string, rest])) : rows);
  }
} else {
  console.table([Object.fromEntries(Object.entries(result).map(([key, value]) => [key, typeof value === 'object' ? JSON.stringify(value) : value]))]);
}
const dir = path.join('bench', 'results');
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${which}-${Date.now()}.json`);
fs.writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
console.log(`written ${file}`);

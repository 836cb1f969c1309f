import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runHttpBench } from './http.js';
import { runLatencyBench } from './latency.js';
import { runOcrBench } from './ocr.js';

/** `npm run bench -- <http|latency|ocr> [--tasks N --clients C --gateways G --poll-ms P --runs R]`: prints a table, writes JSON under bench/results/. */
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    tasks: { type: 'string', default: '4000' },
    clients: { type: 'string', default: '32' },
    gateways: { type: 'string', default: '2' },
    'poll-ms': { type: 'string', default: '10' },
    runs: { type: 'string', default: '10' },
  },
});

const which = positionals[0] ?? 'http';
const benches: Record<string, () => Promise<Record<string, unknown>>> = {
  http: () =>
    runHttpBench({ tasks: Number(values.tasks), clients: Number(values.clients), gateways: Number(values.gateways), pollMs: Number(values['poll-ms']) }),
  ocr: () => runOcrBench({ runs: Number(values.runs) }),
  latency: () => runLatencyBench({ tasks: Number(values.tasks) }),
};
const bench = benches[which];
if (!bench) {
  console.error(`unknown benchmark "${which}"; available: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}

const result = await bench();
const record = { ...result, machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version }, at: new Date().toISOString() };
console.table([Object.fromEntries(Object.entries(result).map(([key, value]) => [key, typeof value === 'object' ? JSON.stringify(value) : value]))]);
const dir = path.join('bench', 'results');
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${which}-${Date.now()}.json`);
fs.writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
console.log(`written ${file}`);

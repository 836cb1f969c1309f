import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runHttpBench } from './http.js';

/** `npm run bench [-- http --tasks N --clients C --gateways G --poll-ms P]`: prints a table, writes JSON under bench/results/. */
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    tasks: { type: 'string', default: '4000' },
    clients: { type: 'string', default: '32' },
    gateways: { type: 'string', default: '2' },
    'poll-ms': { type: 'string', default: '10' },
  },
});

const which = positionals[0] ?? 'http';
if (which !== 'http') {
  console.error(`unknown benchmark "${which}"; available: http`);
  process.exit(2);
}

const result = await runHttpBench({
  tasks: Number(values.tasks),
  clients: Number(values.clients),
  gateways: Number(values.gateways),
  pollMs: Number(values['poll-ms']),
});
const record = { ...result, machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version }, at: new Date().toISOString() };
console.table([{ ...result, submit_ms: JSON.stringify(result.submit_ms), end_to_end_ms: JSON.stringify(result.end_to_end_ms) }]);
const dir = path.join('bench', 'results');
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${which}-${Date.now()}.json`);
fs.writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
console.log(`written ${file}`);

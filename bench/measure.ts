import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deletePrefix, uniquePrefix } from '../test/support/broker.js';
import { driveHttpClients, type ClientRun } from './http.js';
import { cpuMeter } from './stats.js';
import type { Target } from './targets.js';

export type Row = Record<string, string | number | null>;

export interface MeasureOptions {
  concurrency: readonly number[];
  tasks: number;
  warmup: number;
  pollMs: number;
}

/**
 * The cases of an HTTP bench that drives several targets with one client: each target at each
 * concurrency (a warm-up first, not counted: connections, JIT, store pages), a row per run made by
 * `rowOf` (which may compare with the runs before it, keyed `name@clients`), and the CPU per task of each
 * process group. Targets log into `logDir`, kept after `finish` only when one logged a warning.
 */
export class CaseRuns {
  readonly logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-logs-'));
  readonly rows: Row[] = [];
  readonly cpuRows: Row[] = [];
  readonly runs = new Map<string, ClientRun>();
  private keepLogs = false;

  constructor(
    private readonly options: MeasureOptions,
    private readonly rowOf: (target: string, clients: number, run: ClientRun, earlier: ReadonlyMap<string, ClientRun>) => Row,
  ) {}

  /** Start a target, drive it at each concurrency, stop it. */
  async measure(start: () => Promise<Target>): Promise<void> {
    const target = await start();
    try {
      for (const clients of this.options.concurrency) {
        const drive = { clients, pollMs: this.options.pollMs };
        await driveHttpClients(target.urls, { ...drive, tasks: this.options.warmup });
        const meter = cpuMeter(target.cpu);
        const run = await driveHttpClients(target.urls, { ...drive, tasks: this.options.tasks });
        if (run.first_error) console.warn(`${target.name} c=${clients}: ${run.errors} errors, the first: ${run.first_error}`);
        this.runs.set(`${target.name}@${clients}`, run);
        this.rows.push(this.rowOf(target.name, clients, run, this.runs));
        this.cpuRows.push({ case: `${target.name} c=${clients}`, ...meter.stop(this.options.tasks) });
      }
      if (target.problems() > 0) {
        this.keepLogs = true;
        console.warn(`${target.name}: ${target.problems()} warn/error lines logged (kept in ${this.logDir})`);
      }
    } finally {
      await target.stop();
    }
  }

  finish(): void {
    if (!this.keepLogs) fs.rmSync(this.logDir, { recursive: true, force: true });
  }
}

/** Run `work` on a fresh AMQP prefix, and delete what it declared under that prefix afterwards. */
export async function withPrefix(work: (prefix: string) => Promise<void>): Promise<void> {
  const prefix = uniquePrefix();
  try {
    await work(prefix);
  } finally {
    await deletePrefix(prefix);
  }
}

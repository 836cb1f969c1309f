import fs from 'node:fs';

/** Small helpers the benchmarks share: percentiles, rounding, a bounded-concurrency driver, CPU accounting. */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** `a / b` rounded, or null when either side is missing (a case that did not run or measured nothing). */
export function ratio(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? null : round(a / b, 3);
}

/**
 * Run `one(n)` for n = 0..total-1 with at most `inFlight` running at once, and time each. A call
 * that throws counts as an error and is not timed, so one failure does not hide the rest.
 */
export async function drive(
  total: number,
  inFlight: number,
  one: (n: number) => Promise<void>,
): Promise<{ seconds: number; latencies: number[]; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, total) }, async () => {
      for (let n = next++; n < total; n = next++) {
        const t0 = performance.now();
        try {
          await one(n);
          latencies.push(performance.now() - t0);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  return { seconds: (performance.now() - begin) / 1000, latencies, errors };
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc. Throughput on a shared 2-core
 * machine moves with whatever else runs; CPU spent per task by each process does not, and says
 * which process is the bottleneck.
 */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/**
 * The broker's Erlang VM — the one listening on the AMQP port, since another beam.smp (a second
 * RabbitMQ node, some other Erlang program) may run beside it — to charge its CPU per task.
 * Undefined when it cannot be told.
 */
export function brokerPid(port = 5672): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const listening = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        // local address ends in :port, state 0A is LISTEN, column 9 is the socket's inode
        if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A') listening.add(`socket:[${cols[9]}]`);
      }
    } catch {
      // no IPv6 table
    }
  }
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'beam.smp') continue;
      const fds = fs.readdirSync(`/proc/${entry}/fd`);
      if (fds.some((fd) => listening.has(safeReadlink(`/proc/${entry}/fd/${fd}`)))) return Number(entry);
    } catch {
      // the process ended while we looked, or is not ours to inspect
    }
  }
  return undefined;
}

function safeReadlink(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    return '';
  }
}

/** CPU used by a set of named process groups between `start()` and `stop(tasks)`, in ms per task. */
export function cpuMeter(groups: Record<string, readonly number[]>): { stop(tasks: number): Record<string, number> } {
  const sample = (): Record<string, number> =>
    Object.fromEntries(
      Object.entries(groups).map(([name, pids]) => [name, pids.reduce((sum, pid) => sum + (pid === process.pid ? processCpu() : cpuSeconds(pid)), 0)]),
    );
  const before = sample();
  return {
    stop(tasks) {
      const after = sample();
      return Object.fromEntries(Object.keys(groups).map((name) => [name, round(((after[name]! - before[name]!) * 1000) / tasks, 3)]));
    },
  };
}

function processCpu(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * What Linux's /proc says about a process (or the machine), for benchmarks that must measure
 * another process's memory or CPU rather than their own. Linux only, like the benchmarks.
 */
export const MiB = 1024 * 1024;

/** A `kB` line of /proc/<pid>/status (VmRSS, VmHWM, …) in bytes; NaN once the process is gone. */
export function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

export function threadCount(pid: number): number {
  try {
    return Number(/^Threads:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/**
 * Reset VmHWM to the current RSS (`echo 5 > /proc/<pid>/clear_refs`), so the high-water mark read
 * afterwards is the peak of the measured phase, not of start-up (tsx compiling the sources).
 * Returns false where the kernel does not allow it; the 50 ms samples still stand then.
 */
export function resetHighWaterMark(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

let clockTicks: number | undefined;

/** /proc counts CPU time in clock ticks (USER_HZ, almost always 100). */
function ticksPerSecond(): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return clockTicks;
}

/** CPU seconds (user + system) a process has used so far; children not included. */
export function cpuSeconds(pid: number): number {
  try {
    // The command name (field 2) may contain spaces; the fields after its closing ")" do not.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

/** Busy and total CPU seconds of the whole machine, all cores (first line of /proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  const [, ...values] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const numbers = values.map(Number);
  const total = numbers.slice(0, 8).reduce((sum, value) => sum + value, 0); // guest time is already in user
  const idle = (numbers[3] ?? 0) + (numbers[4] ?? 0); // idle + iowait
  return { busy: (total - idle) / ticksPerSecond(), total: total / ticksPerSecond() };
}

/** Percentage of the machine's capacity (all cores) that `cpuSeconds` is, between two machineCpu() readings. */
export function percentOfMachine(cpuSeconds: number, before: { total: number }, after: { total: number }): number {
  const total = after.total - before.total;
  return total > 0 ? Math.round((cpuSeconds / total) * 1000) / 10 : NaN;
}

/** Samples a process's VmRSS every `everyMs` and keeps the largest. */
export function rssSampler(pid: number, everyMs = 50): { stop(): { peak: number; samples: number } } {
  let peak = statusBytes(pid, 'VmRSS');
  let samples = 1;
  const timer = setInterval(() => {
    const rss = statusBytes(pid, 'VmRSS');
    if (rss > peak) peak = rss;
    samples += 1;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { peak, samples };
    },
  };
}

export function toMiB(bytes: number): number {
  return Math.round((bytes / MiB) * 10) / 10;
}

/** CPU seconds so far of every process on the machine, by PID, with its command name. */
export function allProcessesCpu(): Map<number, { name: string; seconds: number }> {
  const processes = new Map<number, { name: string; seconds: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const seconds = cpuSeconds(pid);
    if (Number.isNaN(seconds)) continue;
    let name = '?';
    try {
      name = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(0, 3).join(' ').slice(0, 80);
    } catch {
      // gone meanwhile
    }
    processes.set(pid, { name, seconds });
  }
  return processes;
}

/**
 * The processes, other than `exclude`, that used the most CPU between two allProcessesCpu()
 * readings, as a share of the machine — to say who else was competing for the cores.
 */
export function topOthers(
  before: Map<number, { seconds: number }>,
  after: Map<number, { name: string; seconds: number }>,
  machineSeconds: number,
  exclude: readonly number[],
  count = 3,
): string[] {
  return [...after]
    .filter(([pid]) => !exclude.includes(pid))
    .map(([pid, { name, seconds }]) => ({ pid, name, used: seconds - (before.get(pid)?.seconds ?? 0) }))
    .sort((a, b) => b.used - a.used)
    .slice(0, count)
    .filter(({ used }) => used / machineSeconds >= 0.01)
    .map(({ pid, name, used }) => `${Math.round((used / machineSeconds) * 1000) / 10}% ${pid} ${name}`);
}

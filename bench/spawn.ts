import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Processes under test, started as `node [nodeArgs] --import tsx <entry>` and stopped by their own
 * PID. Unlike test/support/processes.ts, their output goes to a file rather than a pipe into this
 * process: on a 2-core machine the load generator parsing every access-log line of the gateways
 * would steal CPU from the processes it measures (and the do-nothing ceiling logs nothing).
 * `nodeArgs` is how `--profile` adds `--cpu-prof`.
 */
export interface BenchProcess {
  pid: number;
  logFile: string;
  /** The JSON lines that made the process ready (e.g. the one with the port). */
  readyLines: Record<string, unknown>[];
  stop(): Promise<void>;
}

export interface StartOptions {
  entry: string;
  env: Record<string, string>;
  /** One predicate per line that must have appeared before the process counts as ready. */
  ready: ((line: Record<string, unknown>) => boolean)[];
  logDir: string;
  nodeArgs?: string[];
  timeoutMs?: number;
}

let started = 0;

export async function startBenchProcess({ entry, env, ready, logDir, nodeArgs = [], timeoutMs = 30_000 }: StartOptions): Promise<BenchProcess> {
  const logFile = path.join(logDir, `${path.basename(entry, '.ts')}-${++started}.log`);
  const fd = fs.openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', METRICS_PORT: '0', ...env },
      stdio: ['ignore', fd, fd],
    });
  } finally {
    fs.closeSync(fd);
  }
  const exited = once(child, 'exit');
  const pid = child.pid!;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = parseLines(fs.readFileSync(logFile, 'utf8'));
    const found = ready.map((predicate) => lines.find(predicate));
    if (found.every((line) => line !== undefined)) return { pid, logFile, readyLines: found as Record<string, unknown>[], stop };
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(
        `${entry} did not get ready (exit ${child.exitCode ?? child.signalCode}); last lines:\n${lines
          .slice(-10)
          .map((l) => JSON.stringify(l))
          .join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function parseLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return { msg: line };
      }
    });
}

/** Lines at warn level or worse, so a run that logged problems says so in its report. */
export function problemsLogged(process: BenchProcess): number {
  return parseLines(fs.readFileSync(process.logFile, 'utf8')).filter((line) => typeof line.level === 'number' && line.level >= 40).length;
}

export const warrenReady = {
  gateway: [(line: Record<string, unknown>) => line.msg === 'gateway listening', (line: Record<string, unknown>) => line.msg === 'broker ready'],
  worker: [(line: Record<string, unknown>) => line.msg === 'worker consuming', (line: Record<string, unknown>) => line.msg === 'broker ready'],
};

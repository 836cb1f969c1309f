import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import readline from 'node:readline';
import type { WarrenProcess } from './processes.js';

/**
 * Debian's Python 3 with Debian's pika, which the Python worker SDK (worker/python) runs on —
 * never a pip install. Installed by scripts/install-debian-packages.sh; under CI a missing pika
 * fails the run instead of skipping the Python tests, as a missing Chromium does.
 */
export const PYTHON = '/usr/bin/python3';
export const PYTHON_SDK_DIR = 'worker/python';
export const pythonSdkAvailable = spawnSync(PYTHON, ['-c', 'import pika'], { stdio: 'ignore' }).status === 0;
if (!pythonSdkAvailable && process.env.CI) {
  throw new Error(`${PYTHON} cannot import pika: run scripts/install-debian-packages.sh (it installs Debian's python3-pika)`);
}

/** The environment a Python process of the SDK gets: the package importable, no bytecode left in the tree. */
export function pythonEnv(extra: Record<string, string> = {}, paths: readonly string[] = []): Record<string, string> {
  return { PATH: process.env.PATH ?? '', PYTHONPATH: [PYTHON_SDK_DIR, ...paths].join(':'), PYTHONDONTWRITEBYTECODE: '1', ...extra };
}

/**
 * A Python worker process, started as an operator would (`python3 -m warren_worker <modules>`)
 * with a stack's environment, its log lines captured like those of the Node processes
 * (processes.ts), stopped by its own PID. Resolves once it logs `worker consuming`.
 */
export async function startPythonWorker(env: Record<string, string>, modules: readonly string[], paths: readonly string[]): Promise<WarrenProcess> {
  const child = spawn(PYTHON, ['-m', 'warren_worker', ...modules], { env: pythonEnv({ LOG_LEVEL: 'info', ...env }, paths), stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const onLine = (text: string): void => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      line = { msg: text };
    }
    logs.push(line);
    if (process.env.WARREN_TEST_LOGS) console.log(`[python:${child.pid}] ${text}`);
    for (const wake of waiters) wake();
  };
  readline.createInterface({ input: child.stdout }).on('line', onLine);
  readline.createInterface({ input: child.stderr }).on('line', onLine);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const worker: WarrenProcess = {
    child,
    logs,
    exited,
    waitForLog(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const tail = (): string =>
          logs
            .slice(-10)
            .map((l) => JSON.stringify(l))
            .join('\n');
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`python worker did not log the expected line within ${timeoutMs} ms; last lines:\n${tail()}`));
        }, timeoutMs);
        const check = (): void => {
          const found = logs.find(predicate);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        void exited.then(() => {
          if (!waiters.delete(check)) return;
          clearTimeout(timer);
          reject(new Error(`python worker exited before logging the expected line:\n${tail()}`));
        });
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  try {
    await worker.waitForLog((line) => line.msg === 'worker consuming', 45_000);
  } catch (err) {
    await worker.stop('SIGKILL');
    throw err;
  }
  return worker;
}

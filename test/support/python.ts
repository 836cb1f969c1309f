import { spawn, spawnSync } from 'node:child_process';
import { watchProcess, type WarrenProcess } from './processes.js';

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
  const worker = watchProcess(child, 'python worker');
  try {
    await worker.waitForLog((line) => line.msg === 'worker consuming', 45_000);
  } catch (err) {
    await worker.stop('SIGKILL');
    throw err;
  }
  return worker;
}

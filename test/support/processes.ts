import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';

/**
 * Real gateway and worker processes for end-to-end tests, started as the Docker images run the
 * build (this test run's own, or dist/ when a test names it), or as `npm run gateway` / `npm run
 * worker` start them where there is no build; each stopped by its own PID.
 */
export interface WarrenProcess {
  child: ChildProcess;
  /** Every log line so far (JSON objects where the line was JSON). */
  logs: Record<string, unknown>[];
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code when the process ends by itself. */
  exited: Promise<number | null>;
}

const TSX = ['--import', 'tsx'];
/** Declaring a prefix's quorum queues can take a while when many test files do it at once. */
const READY_TIMEOUT_MS = 45_000;

export type Entry = 'gateway/main.ts' | 'worker/main.ts' | 'dist/gateway/main.js' | 'dist/worker/main.js';

export function startProcess(entry: Entry, env: Record<string, string>): WarrenProcess {
  const child = spawn(process.execPath, argsFor(entry), {
    // METRICS_PORT 0: test workers must not take the default port from a real worker on this machine.
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watchProcess(child, entry);
}

/**
 * A source entry runs from this test run's build (test/support/test-build.ts) when there is one,
 * as the images run dist/: the same code, without compiling it again in every process. Without it
 * (a test file run outside vitest's setup), through tsx as `npm run gateway` runs it.
 */
function argsFor(entry: Entry): string[] {
  if (!entry.endsWith('.ts')) return [entry];
  const build = process.env.WARREN_TEST_BUILD;
  return build ? [path.join(build, entry.replace(/\.ts$/, '.js'))] : [...TSX, entry];
}

/**
 * A started child (stdout and stderr piped) as a WarrenProcess: its log lines captured (JSON where
 * they are JSON), waited for, and the child stopped by its own PID. `label` names it in errors.
 */
export function watchProcess(child: ChildProcess, label: string): WarrenProcess {
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
    if (process.env.WARREN_TEST_LOGS) console.log(`[${label}:${child.pid}] ${text}`);
    for (const wake of waiters) wake();
  };
  readline.createInterface({ input: child.stdout! }).on('line', onLine);
  readline.createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const lastLines = (): string =>
    logs
      .slice(-10)
      .map((l) => JSON.stringify(l))
      .join('\n');

  return {
    child,
    logs,
    exited,
    waitForLog(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = logs.find(predicate);
          if (found) {
            cleanup();
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${label} did not log the expected line within ${timeoutMs} ms; last lines:\n${lastLines()}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        void exited.then(() => {
          if (waiters.has(check)) {
            cleanup();
            reject(new Error(`${label} exited before logging the expected line:\n${lastLines()}`));
          }
        });
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface Gateway extends WarrenProcess {
  url: string;
}

export async function startGateway(env: Record<string, string>, entry: Entry = 'gateway/main.ts'): Promise<Gateway> {
  const gateway = startProcess(entry, { PORT: '0', ...env });
  const [listening] = await stopIfNotReady(
    gateway,
    Promise.all([gateway.waitForLog((line) => line.msg === 'gateway listening'), gateway.waitForLog((line) => line.msg === 'broker ready', READY_TIMEOUT_MS)]),
  );
  const basePath = env.BASE_PATH ?? '/prediction';
  return Object.assign(gateway, { url: `http://127.0.0.1:${String(listening.port)}${basePath}` });
}

export async function startWorker(env: Record<string, string>, entry: Entry = 'worker/main.ts'): Promise<WarrenProcess> {
  const worker = startProcess(entry, env);
  await stopIfNotReady(
    worker,
    worker.waitForLog((line) => line.msg === 'broker ready', READY_TIMEOUT_MS),
  );
  return worker;
}

/** A process that never became ready is killed, so a failed test setup leaves nothing running. */
async function stopIfNotReady<T>(process: WarrenProcess, ready: Promise<T>): Promise<T> {
  try {
    return await ready;
  } catch (err) {
    await process.stop('SIGKILL');
    throw err;
  }
}

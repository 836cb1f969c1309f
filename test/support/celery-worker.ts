import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { TEST_AMQP_URL } from './broker.js';

/**
 * A stock Celery worker for the Celery bridge's tests: Debian's python3-celery (5.2), started as
 * its users start it (`celery -A tasks worker -Q <queue>`), from a directory holding the original
 * system's `tasks.py` unchanged — plus `test_tasks.py`, tasks of the tests' own on the same app,
 * loaded with `--include` so that `tasks.py` stays exactly as its users have it. Stopped by its PID.
 */
export const CELERY_PYTHON = '/usr/bin/python3';

export function celeryInstalled(): boolean {
  return fs.existsSync(CELERY_PYTHON) && fs.existsSync('/usr/lib/python3/dist-packages/celery/__init__.py');
}

/** The seed system's worker code, byte for byte but for the broker URL (the test broker). */
export const SEED_TASKS_PY = `from celery import Celery

app = Celery('tasks', broker='${TEST_AMQP_URL}//', backend='rpc://')


@app.task
def elab_file(item_a, item_b):
    return f"{item_a.lower()} {item_b.lower()}"
`;

/**
 * A worker forced past what stops Celery 5.2 on a warren (quorum) queue: it does not declare the
 * queue (it would be refused as inequivalent) and asks for per-consumer QoS (RabbitMQ refuses the
 * global QoS Celery 5.2 sets on quorum queues). `QUEUE` is replaced by the queue's name.
 */
export const FORCED_PY = `from kombu import Queue
from kombu.transport import pyamqp

from tasks import app

pyamqp.Transport.qos_semantics_matches_spec = lambda self, connection: True
app.conf.task_queues = [Queue('QUEUE', no_declare=True)]
`;

/**
 * The tests' own tasks on the seed's app: one that raises; one that takes its time and reports
 * STARTED; the same with the settings the README recommends for at-least-once (late acks,
 * rejected when its worker is lost); one that retries once; one that returns `size` bytes; one
 * that reads its input files.
 */
export const TEST_TASKS_PY = `import time

from tasks import app


@app.task
def refuse(item_a, item_b):
    raise ValueError(f"cannot elaborate {item_a} by {item_b}")


@app.task(track_started=True)
def hold(seconds):
    time.sleep(seconds)
    return 'held'


@app.task(track_started=True, acks_late=True, reject_on_worker_lost=True)
def hold_safely(seconds):
    time.sleep(seconds)
    return 'held safely'


@app.task(bind=True, track_started=True, max_retries=2)
def flaky(self, item_a, item_b):
    if self.request.retries == 0:
        raise self.retry(countdown=2, exc=ConnectionError('the model server is warming up'))
    return f"{item_a.lower()} {item_b.lower()} after {self.request.retries} retry"


@app.task
def text_of(size):
    return 'x' * size


@app.task
def first_lines(files):
    lines = []
    for path in files:
        with open(path) as file:
            lines.append(file.readline().strip())
    return lines
`;

export function writeCeleryApp(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tasks.py'), SEED_TASKS_PY);
  fs.writeFileSync(path.join(dir, 'test_tasks.py'), TEST_TASKS_PY);
}

export interface CeleryWorker {
  child: ChildProcess;
  /** Resolves with the exit code once the worker has ended. */
  exited: Promise<number | null>;
  /** Every line the worker logged so far. */
  lines: string[];
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
  /** Kill the worker and its pool processes at once (SIGKILL to its process group), as a crash would. */
  kill(): Promise<void>;
}

/**
 * `celery -A tasks worker -Q <queue> --pool=prefork -c 1` in `dir`, ready once it logs "ready.".
 * Prefork, not solo: revoke --terminate needs a pool process to kill, and a solo worker reads its
 * mailbox only between tasks. The node name is unique, so parallel runs never share a pidbox.
 */
export async function startCeleryWorker(dir: string, queue: string, nodeName: string): Promise<CeleryWorker> {
  const worker = spawnCeleryWorker(dir, ['-A', 'tasks', 'worker', '-Q', queue, '--include', 'test_tasks', '--pool=prefork', '-c', '1'], nodeName);
  try {
    await worker.waitForLine(/ ready\.$/, 30_000);
  } catch (err) {
    await worker.stop();
    throw err;
  }
  return worker;
}

/** `celery <args> -n <nodeName>@%h --loglevel=INFO` in `dir`, not waited for. */
export function spawnCeleryWorker(dir: string, args: readonly string[], nodeName: string): CeleryWorker {
  const child = spawn(CELERY_PYTHON, ['-m', 'celery', ...args, '-n', `${nodeName}@%h`, '--loglevel=INFO'], {
    cwd: dir,
    env: { PATH: '/usr/bin:/bin', HOME: dir, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that a simulated crash takes its pool processes too.
    detached: true,
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const onLine = (line: string): void => {
    lines.push(line);
    if (process.env.WARREN_TEST_LOGS) console.log(`[celery:${child.pid}] ${line}`);
    for (const wake of waiters) wake();
  };
  readline.createInterface({ input: child.stdout! }).on('line', onLine);
  readline.createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = once(child, 'exit').then(([code]) => code as number | null);

  const waitForLine = (pattern: RegExp, timeoutMs = 15_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = lines.find((line) => pattern.test(line));
        if (found === undefined) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`the Celery worker logged no line matching ${pattern} within ${timeoutMs} ms; last lines:\n${lines.slice(-15).join('\n')}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // Warm shutdown (TERM) waits for a running task; a cold one (QUIT) ends it and its pool at once.
    child.kill('SIGQUIT');
    await exited;
  };

  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
  };

  return { child, exited, lines, waitForLine, stop, kill };
}

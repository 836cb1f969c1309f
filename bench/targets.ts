import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { TEST_AMQP_URL } from '../test/support/broker.js';
import { problemsLogged, startBenchProcess, warrenReady, type BenchProcess } from './spawn.js';
import { brokerPid } from './stats.js';

/**
 * The systems the HTTP benchmarks drive with the same client (bench/http.ts): each started as its
 * own processes, answering warren's routes at `urls`, with the PIDs whose CPU a run charges to its
 * tasks, and stopped (and its broker state removed) by `stop`.
 */
export interface Target {
  name: string;
  urls: string[];
  cpu: Record<string, readonly number[]>;
  stop(): Promise<void>;
  /** Lines logged at warn or worse so far. */
  problems(): number;
}

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** `servers` do-nothing servers with warren's routes (bench/ceiling-http.ts): what HTTP alone costs. */
export async function startCeiling(servers: number, logDir: string): Promise<Target> {
  const started = await startAll(servers, () =>
    startBenchProcess({ entry: 'bench/ceiling-http.ts', env: { PORT: '0' }, ready: [(l) => l.msg === 'ceiling listening'], logDir }),
  );
  return {
    name: 'ceiling',
    urls: started.map(urlOf),
    cpu: cpuGroups(started.map((p) => p.pid)),
    stop: async () => void (await Promise.all(started.map((p) => p.stop()))),
    problems: () => 0,
  };
}

export interface WarrenTargetOptions {
  prefix: string;
  gateways: number;
  logDir: string;
  nodeArgs?: string[];
  /** Extra environment for gateways and worker, e.g. STORE_URL for the PostgreSQL store. */
  env?: Record<string, string>;
  name?: string;
}

/** The environment of a bench's warren: the local broker under `prefix`, its own DATA_DIR, echo, logging at info as deployed. */
export function warrenBenchEnv(prefix: string, dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AMQP_URL: TEST_AMQP_URL,
    AMQP_PREFIX: prefix,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    DEFAULT_PROCESSOR: 'echo',
    WORKER_PROCESSORS: 'echo',
    ...extra,
  };
}

/** 1 worker + `gateways` gateways on a private prefix and DATA_DIR, logging at info as deployed. */
export async function startWarren({ prefix, gateways, logDir, nodeArgs = [], env: extra = {}, name = 'warren' }: WarrenTargetOptions): Promise<Target> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-'));
  const env = warrenBenchEnv(prefix, dataDir, extra);
  const started: BenchProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((p) => p.stop()));
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    // The worker first: it declares the task queue the gateways' first submits go to.
    started.push(await startBenchProcess({ entry: 'worker/main.ts', env, ready: warrenReady.worker, logDir, nodeArgs }));
    for (let i = 0; i < gateways; i += 1) {
      started.push(await startBenchProcess({ entry: 'gateway/main.ts', env: { ...env, PORT: '0' }, ready: warrenReady.gateway, logDir, nodeArgs }));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const [worker, ...gatewayProcesses] = started;
  return {
    name,
    urls: gatewayProcesses.map(urlOf),
    cpu: { ...cpuGroups(gatewayProcesses.map((p) => p.pid)), worker: [worker!.pid] },
    stop,
    problems: () => started.reduce((sum, p) => sum + problemsLogged(p), 0),
  };
}

/**
 * Express + BullMQ (bench/peers/): `gateways` Express gateways and one BullMQ worker at
 * concurrency 16 on the machine's Redis, under a private key prefix that `stop` obliterates.
 */
export async function startBullmq({ prefix, gateways, logDir }: { prefix: string; gateways: number; logDir: string }): Promise<Target> {
  const env = { REDIS_URL, PEERS_PREFIX: prefix, PEERS_QUEUE: 'echo', PEERS_CONCURRENCY: '16' };
  const started: BenchProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((p) => p.stop()));
    const queue = new Queue('echo', { connection: { url: REDIS_URL }, prefix });
    try {
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
    }
  };
  try {
    started.push(await startBenchProcess({ entry: 'bench/peers/bullmq-worker.ts', env, ready: [(l) => l.msg === 'bullmq worker ready'], logDir }));
    for (let i = 0; i < gateways; i += 1) {
      started.push(
        await startBenchProcess({
          entry: 'bench/peers/bullmq-gateway.ts',
          env: { ...env, PORT: '0' },
          ready: [(l) => l.msg === 'bullmq gateway listening'],
          logDir,
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const [worker, ...gatewayProcesses] = started;
  const redis = await redisPid();
  return {
    name: 'express+bullmq',
    urls: gatewayProcesses.map(urlOf),
    cpu: { client: [process.pid], servers: gatewayProcesses.map((p) => p.pid), worker: [worker!.pid], ...(redis ? { redis: [redis] } : {}) },
    stop,
    problems: () => started.reduce((sum, p) => sum + problemsLogged(p), 0),
  };
}

async function startAll(count: number, start: () => Promise<BenchProcess>): Promise<BenchProcess[]> {
  const started: BenchProcess[] = [];
  try {
    for (let i = 0; i < count; i += 1) started.push(await start());
  } catch (err) {
    await Promise.all(started.map((p) => p.stop()));
    throw err;
  }
  return started;
}

const urlOf = (p: BenchProcess): string => `http://127.0.0.1:${String(p.readyLines[0]!.port)}/prediction`;

function cpuGroups(servers: number[]): Record<string, readonly number[]> {
  const broker = brokerPid();
  return { client: [process.pid], servers, ...(broker ? { broker: [broker] } : {}) };
}

/** The Redis server's PID, from INFO (to charge its CPU per task like the broker's). */
async function redisPid(): Promise<number | undefined> {
  const queue = new Queue('pid-probe', { connection: { url: REDIS_URL } });
  try {
    const client = await queue.client;
    const match = /process_id:(\d+)/.exec(await client.info());
    return match ? Number(match[1]) : undefined;
  } finally {
    await queue.close();
  }
}

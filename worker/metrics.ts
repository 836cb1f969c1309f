import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics, TASK_SECONDS_BUCKETS } from '../shared/index.js';

/**
 * A worker's Prometheus metrics, on their own registry (not prom-client's global one, so tests
 * can build several) and served by a tiny HTTP server of their own: a worker has no other port.
 */

/** What became of a task message: success/failure were published, the rest went back or aside. */
export type WorkerOutcome = 'success' | 'failure' | 'retried' | 'requeued' | 'dead_lettered' | 'revoked';
const OUTCOMES: readonly WorkerOutcome[] = ['success', 'failure', 'retried', 'requeued', 'dead_lettered', 'revoked'];

export interface WorkerMetrics {
  registry: Registry;
  tasks: Counter<'processor' | 'outcome'>;
  inFlight: Gauge<'processor'>;
  runSeconds: Histogram<'processor'>;
  /** Start every series of these processors at 0, so rate() and alerts work before the first task. */
  track(processors: readonly string[]): void;
}

export function createWorkerMetrics({ defaultMetrics = true }: { defaultMetrics?: boolean } = {}): WorkerMetrics {
  const registry = new Registry();
  if (defaultMetrics) collectProcessMetrics(registry);
  const registers = [registry];
  const tasks = new Counter({
    name: 'warren_worker_tasks_total',
    help: 'Task messages this worker handled, by outcome: success, failure, retried (all published), requeued, dead_lettered, revoked (cancelled: skipped or aborted).',
    labelNames: ['processor', 'outcome'] as const,
    registers,
  });
  const inFlight = new Gauge({
    name: 'warren_worker_in_flight',
    help: 'Tasks this worker is running now.',
    labelNames: ['processor'] as const,
    registers,
  });
  const runSeconds = new Histogram({
    name: 'warren_worker_run_seconds',
    help: "Time the processor's run took, for tasks that succeeded or failed.",
    labelNames: ['processor'] as const,
    buckets: [...TASK_SECONDS_BUCKETS],
    registers,
  });
  const track = (processors: readonly string[]): void => {
    for (const processor of processors) {
      for (const outcome of OUTCOMES) tasks.labels(processor, outcome).inc(0);
      inFlight.labels(processor).set(0);
    }
  };
  return { registry, tasks, inFlight, runSeconds, track };
}

export interface MetricsServer {
  /** The port it listens on (useful when asked for port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (and HEAD) in Prometheus' text format, and `GET /health/ready`: 200 when
 * `problem()` says nothing is wrong, else 503 with the problem (a worker has no other port for a
 * container healthcheck or a readiness probe to ask). Every other request is a 404.
 */
export async function startMetricsServer(
  registry: Registry,
  port: number,
  host: string,
  problem: () => string | undefined = () => undefined,
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/health/ready' && req.method === 'GET') {
      const reason = problem();
      res.writeHead(reason ? 503 : 200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(reason ? { ready: false, problem: reason } : { ready: true }));
      return;
    }
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
  });
  // Scrapers keep connections open; they must not hold up a worker's shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

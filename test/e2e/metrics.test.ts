import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, TEST_AMQP_URL, uniquePrefix } from '../support/broker.js';
import { submitForm, waitForTerminal, type Submitted } from '../support/client.js';
import { freePort } from '../support/ports.js';
import { parseMetrics, sample, type Sample } from '../support/metrics.js';
import { startGateway, startWorker, type Gateway, type WarrenProcess } from '../support/processes.js';
import { MISNAMED_DEFAULT_METRICS } from '../../shared/index.js';

/**
 * Metrics and access logs with real processes: tasks go through gateway and worker, and both
 * /metrics endpoints (the gateway's at its root, the worker's on METRICS_PORT) say what happened.
 */
const prefix = uniquePrefix();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-metrics-'));
const env = { AMQP_URL: TEST_AMQP_URL, AMQP_PREFIX: prefix, DATA_DIR: dataDir, DEFAULT_PROCESSOR: 'echo', WORKER_PROCESSORS: 'echo', RETRY_DELAYS_MS: '1000' };
const N = 5;
let worker: WarrenProcess;
let gateway: Gateway;
let workerMetricsUrl: string;
const ids: string[] = [];
let failedId: string;

async function scrape(url: string): Promise<{ samples: Sample[]; contentType: string | null }> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return { samples: parseMetrics(await response.text()), contentType: response.headers.get('content-type') };
}

/** The worker counts an outcome after its event is confirmed, which may be just after the gateway recorded it. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Prometheus's own linter (scripts/install-debian-packages.sh installs it) on an exposition read from stdin. */
function promtoolCheck(body: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(body);
  });
}

beforeAll(async () => {
  const metricsPort = await freePort();
  [worker, gateway] = await Promise.all([startWorker({ ...env, METRICS_PORT: String(metricsPort) }), startGateway(env)]);
  const listening = await worker.waitForLog((line) => line.msg === 'metrics listening');
  workerMetricsUrl = `http://127.0.0.1:${String(listening.port)}/metrics`;

  const submitted = await Promise.all([
    ...Array.from({ length: N }, (_, i) => submitForm(gateway.url, { item_a: `item ${i}` })),
    submitForm(gateway.url, { fail: 'x' }),
  ]);
  for (const response of submitted) {
    expect(response.status).toBe(202);
    ids.push(((await response.json()) as Submitted).task_id);
  }
  failedId = ids.pop()!;
  await Promise.all([...ids, failedId].map((id) => waitForTerminal(gateway.url, id)));
});

afterAll(async () => {
  await Promise.all([worker, gateway].filter(Boolean).map((p) => p.stop()));
  await deletePrefix(prefix);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('metrics', () => {
  it('the gateway serves /metrics at its root, counting submitted and finished tasks with their times', async () => {
    const { samples, contentType } = await scrape(new URL('/metrics', gateway.url).href);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(samples, 'warren_tasks_submitted_total', { processor: 'echo' })).toBe(N + 1);
    expect(sample(samples, 'warren_tasks_finished_total', { processor: 'echo', status: 'SUCCESS' })).toBe(N);
    expect(sample(samples, 'warren_tasks_finished_total', { processor: 'echo', status: 'FAILURE' })).toBe(1);
    expect(sample(samples, 'warren_tasks_rejected_total', { reason: 'broker_unavailable' })).toBe(0);
    for (const histogram of ['warren_task_queue_wait_seconds', 'warren_task_run_seconds', 'warren_task_end_to_end_seconds']) {
      expect(sample(samples, `${histogram}_count`, { processor: 'echo' }), histogram).toBe(N + 1);
      expect(sample(samples, `${histogram}_bucket`, { processor: 'echo', le: '+Inf' }), histogram).toBe(N + 1);
      expect(sample(samples, `${histogram}_sum`, { processor: 'echo' }), histogram).toBeGreaterThanOrEqual(0);
    }
    // Echo is fast: every task finished within a minute of its submit.
    expect(sample(samples, 'warren_task_end_to_end_seconds_bucket', { processor: 'echo', le: '60' })).toBe(N + 1);

    const polls = samples.filter((s) => s.name === 'warren_http_requests_total' && s.labels.route === '/task_status/:id' && s.labels.method === 'GET');
    expect(polls.reduce((sum, s) => sum + s.value, 0)).toBeGreaterThanOrEqual(N + 1);
    expect(sample(samples, 'warren_http_requests_total', { method: 'POST', route: '/uploader', status: '202' })).toBe(N + 1);
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    // Routes are patterns: no task id ever becomes a label value.
    expect(samples.some((s) => Object.values(s.labels).some((value) => ids.some((id) => value.includes(id))))).toBe(false);
  });

  it('/metrics is not under BASE_PATH', async () => {
    expect((await fetch(`${gateway.url}/metrics`)).status).toBe(404);
  });

  it('the worker serves its own counters on METRICS_PORT', async () => {
    const read = async (): Promise<Sample[]> => (await scrape(workerMetricsUrl)).samples;
    const samples = await eventually(read, (s) => sample(s, 'warren_worker_tasks_total', { processor: 'echo', outcome: 'success' }) === N);
    expect(sample(samples, 'warren_worker_tasks_total', { processor: 'echo', outcome: 'success' })).toBe(N);
    expect(sample(samples, 'warren_worker_tasks_total', { processor: 'echo', outcome: 'failure' })).toBe(1);
    expect(sample(samples, 'warren_worker_tasks_total', { processor: 'echo', outcome: 'dead_lettered' })).toBe(0);
    expect(sample(samples, 'warren_worker_in_flight', { processor: 'echo' })).toBe(0);
    expect(sample(samples, 'warren_worker_run_seconds_count', { processor: 'echo' })).toBe(N + 1);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
    expect((await fetch(workerMetricsUrl.replace('/metrics', '/other'))).status).toBe(404);
  });

  it('`promtool check metrics` accepts both /metrics bodies (no gauge named _total, counters end in _total)', async () => {
    for (const url of [new URL('/metrics', gateway.url).href, workerMetricsUrl]) {
      const body = await (await fetch(url)).text();
      expect(await promtoolCheck(body), url).toEqual({ code: 0, output: '' });
      for (const name of MISNAMED_DEFAULT_METRICS) expect(body).not.toContain(`${name} `);
      expect(body).toContain('nodejs_active_handles{type=');
    }
  });

  it('the worker answers /health/ready on METRICS_PORT with 200 while connected (its container healthcheck)', async () => {
    const response = await fetch(workerMetricsUrl.replace('/metrics', '/health/ready'));
    expect([response.status, await response.json()]).toEqual([200, { ready: true }]);
  });
});

describe('access logs', () => {
  it('log each request once with path, status, time and the task id, as JSON', async () => {
    const [id] = ids;
    await fetch(`${gateway.url}/task_status/${id}?secret=hunter2`);
    const line = await gateway.waitForLog((l) => l.msg === 'request completed' && l.path === `/prediction/task_status/${id}` && l.taskId === id);
    expect(line).toMatchObject({ method: 'GET', status: 200, component: 'gateway' });
    expect(typeof line.ms).toBe('number');
    const submits = gateway.logs.filter((l) => l.msg === 'request completed' && l.path === '/prediction/uploader');
    expect(submits.map((l) => l.taskId).sort()).toEqual([...ids, failedId].sort());
    expect(JSON.stringify(gateway.logs)).not.toContain('hunter2');
  });

  it('worker log lines about a task carry its id', () => {
    const failed = worker.logs.find((l) => l.msg === 'task failed');
    expect(failed).toMatchObject({ taskId: failedId, processor: 'echo' });
  });
});

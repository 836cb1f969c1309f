import { linksFor } from '../../gateway/links.js';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import express, { Router } from 'express';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { taskEvent } from '../../shared/index.js';
import type { TaskRecord } from '../../gateway/store/index.js';
import { SqliteTaskStore } from '../../gateway/store/sqlite.js';
import { accessLog } from '../../gateway/http/access-log.js';
import { HttpError, errorHandler, notFound } from '../../gateway/http/http-errors.js';
import { createGatewayMetrics, httpMetrics, labelRoute, metricsEndpoint } from '../../gateway/metrics.js';
import { createWorkerMetrics, startMetricsServer } from '../../worker/metrics.js';
import { parseMetrics, sample } from '../support/metrics.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A gateway in miniature: the same middleware order as gateway/app.ts, a few routes under a base path. */
async function miniGateway() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const metrics = createGatewayMetrics({ processors: ['echo'], defaultMetrics: false });
  const app = express();
  app.use(accessLog(logger, linksFor('/prediction')));
  app.use(httpMetrics(metrics));
  const api = Router();
  api.get('/task_status/:id', (req) => {
    throw new HttpError(404, 'task_not_found', `no task ${req.params.id}`);
  });
  api.get('/echo', (_req, res) => {
    res.json({ status: 'ok' });
  });
  api.use('/static', labelRoute('/static'), (_req, res) => {
    res.type('css').send('body{}');
  });
  app.get('/metrics', metricsEndpoint(metrics.registry));
  app.use('/prediction', api);
  app.use(notFound);
  app.use(errorHandler(logger));
  return { url: await listen(app), metrics, lines };
}

describe('HTTP metrics', () => {
  it('labels requests by route pattern, not by URL, and unmatched ones as such', async () => {
    const { url, metrics } = await miniGateway();
    const [a, b] = [randomUUID(), randomUUID()];
    expect((await fetch(`${url}/prediction/task_status/${a}`)).status).toBe(404);
    expect((await fetch(`${url}/prediction/task_status/${b}?token=secret`)).status).toBe(404);
    expect((await fetch(`${url}/prediction/echo`)).status).toBe(200);
    expect((await fetch(`${url}/prediction/static/warren.css`)).status).toBe(200);
    expect((await fetch(`${url}/nothing/here/${a}`)).status).toBe(404);

    const text = await (await fetch(`${url}/metrics`)).text();
    const samples = parseMetrics(text);
    expect(sample(samples, 'warren_http_requests_total', { method: 'GET', route: '/task_status/:id', status: '404' })).toBe(2);
    expect(sample(samples, 'warren_http_requests_total', { method: 'GET', route: '/echo', status: '200' })).toBe(1);
    expect(sample(samples, 'warren_http_requests_total', { method: 'GET', route: '/static', status: '200' })).toBe(1);
    expect(sample(samples, 'warren_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(sample(samples, 'warren_http_request_duration_seconds_count', { method: 'GET', route: '/task_status/:id' })).toBe(2);
    // No label anywhere holds an id.
    expect(text).not.toContain(a);
    expect(text).not.toContain(b);
    expect(metrics.registry.contentType).toMatch(/^text\/plain/);
  });

  it('writes one access line per request: path without query, status, time, task id; scrapes at debug', async () => {
    const { url, lines } = await miniGateway();
    const id = randomUUID();
    await fetch(`${url}/prediction/task_status/${id}?token=secret`);
    await fetch(`${url}/prediction/task_status/not-a-uuid`);
    await fetch(`${url}/metrics`);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const access = lines.filter((l) => l.msg === 'request completed');
    expect(access).toHaveLength(3);
    const [status, invalid, scrape] = access;
    expect(status).toMatchObject({ level: 30, method: 'GET', path: `/prediction/task_status/${id}`, status: 404, taskId: id });
    expect(typeof status!.ms).toBe('number');
    expect(invalid).not.toHaveProperty('taskId');
    expect(scrape).toMatchObject({ level: 20, path: '/metrics', status: 200 });
    const all = JSON.stringify(lines);
    expect(all).not.toContain('secret');
    expect(all).not.toContain('user-agent');
  });
});

describe('task metrics', () => {
  const record = (overrides: Partial<TaskRecord>): TaskRecord => ({
    id: randomUUID(),
    processor: 'echo',
    status: 'SUCCESS',
    attempt: 1,
    progress: 1,
    progressMessage: null,
    artifacts: [],
    error: null,
    createdAt: 1_000,
    startedAt: 1_250,
    finishedAt: 3_250,
    updatedAt: 3_300,
    expiredAt: null,
    owner: null,
    deliveryTargets: 0,
    ...overrides,
  });

  it('counts a finished task and observes queue wait, run and end-to-end times', async () => {
    const metrics = createGatewayMetrics({ processors: ['echo'], defaultMetrics: false });
    metrics.taskFinished(record({}));
    metrics.taskFinished(record({ status: 'FAILURE' }));
    // Revoked while queued: counted, but it has no queue wait or run time.
    metrics.taskFinished(record({ status: 'REVOKED', startedAt: null }));
    const samples = parseMetrics(await metrics.registry.metrics());
    expect(sample(samples, 'warren_tasks_finished_total', { processor: 'echo', status: 'SUCCESS' })).toBe(1);
    expect(sample(samples, 'warren_tasks_finished_total', { processor: 'echo', status: 'FAILURE' })).toBe(1);
    expect(sample(samples, 'warren_task_end_to_end_seconds_count', { processor: 'echo' })).toBe(3);
    expect(sample(samples, 'warren_task_queue_wait_seconds_count', { processor: 'echo' })).toBe(2);
    expect(sample(samples, 'warren_task_queue_wait_seconds_sum', { processor: 'echo' })).toBeCloseTo(0.5);
    expect(sample(samples, 'warren_task_run_seconds_sum', { processor: 'echo' })).toBeCloseTo(4);
    expect(sample(samples, 'warren_task_run_seconds_bucket', { processor: 'echo', le: '1' })).toBe(0);
    expect(sample(samples, 'warren_task_run_seconds_bucket', { processor: 'echo', le: '2.5' })).toBe(2);
    // Known processors and reasons start at 0.
    expect(sample(samples, 'warren_tasks_submitted_total', { processor: 'echo' })).toBe(0);
    expect(sample(samples, 'warren_tasks_rejected_total', { reason: 'broker_unavailable' })).toBe(0);
  });

  it('the store hands back the record only for an applied terminal event', async () => {
    const store = new SqliteTaskStore(':memory:');
    closers.push(() => store.close());
    const task = { task_id: randomUUID(), processor: 'echo' };
    await store.insertPending({ id: task.task_id, processor: 'echo', input: { fields: { a: '1' }, files: [] }, createdAt: Date.now() - 100 });
    const success = taskEvent(task, { status: 'SUCCESS', attempt: 1, result: { ok: true } });
    const outcomes = await store.applyEvents([taskEvent(task, { status: 'STARTED', attempt: 1 }), success, success]);
    expect(outcomes[0]!.record).toBeUndefined();
    expect(outcomes[1]!.record).toMatchObject({ id: task.task_id, status: 'SUCCESS', result: { ok: true } });
    expect(outcomes[1]!.record).toEqual({ ...(await store.get(task.task_id)), result: { ok: true } });
    expect(outcomes[2]).toMatchObject({ applied: false });
    expect(outcomes[2]!.record).toBeUndefined();
  });
});

describe('worker metrics endpoint', () => {
  it('answers GET /metrics in the text format and 404 elsewhere', async () => {
    const metrics = createWorkerMetrics({ defaultMetrics: false });
    metrics.track(['echo']);
    metrics.tasks.labels('echo', 'success').inc(3);
    const server = await startMetricsServer(metrics.registry, 0, '127.0.0.1');
    closers.push(() => server.close());
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(metrics.registry.contentType);
    const samples = parseMetrics(await response.text());
    expect(sample(samples, 'warren_worker_tasks_total', { processor: 'echo', outcome: 'success' })).toBe(3);
    expect(sample(samples, 'warren_worker_tasks_total', { processor: 'echo', outcome: 'dead_lettered' })).toBe(0);
    expect(sample(samples, 'warren_worker_in_flight', { processor: 'echo' })).toBe(0);
    expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status).toBe(404);
  });

  it('answers GET /health/ready with 503 and the problem while there is one, 200 once there is none', async () => {
    let problem: string | undefined = 'not connected to the broker';
    const server = await startMetricsServer(createWorkerMetrics({ defaultMetrics: false }).registry, 0, '127.0.0.1', () => problem);
    closers.push(() => server.close());
    const down = await fetch(`http://127.0.0.1:${server.port}/health/ready`);
    expect([down.status, await down.json()]).toEqual([503, { ready: false, problem: 'not connected to the broker' }]);
    problem = undefined;
    const up = await fetch(`http://127.0.0.1:${server.port}/health/ready`);
    expect([up.status, await up.json()]).toEqual([200, { ready: true }]);
  });
});

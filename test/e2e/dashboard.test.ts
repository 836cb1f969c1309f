import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DashboardData } from '../../gateway/routes/dashboard-data.js';
import { deletePrefix, publishRaw, takeMessage, TEST_AMQP_URL, uniquePrefix } from '../support/broker.js';
import { submitForm, waitForTerminal, type Submitted } from '../support/client.js';
import { startGateway, startProcess, startWorker, type Gateway, type WarrenProcess } from '../support/processes.js';

/** The operator's dashboard against a real gateway, worker and broker. */
const prefix = uniquePrefix();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-dashboard-'));
const env = {
  AMQP_URL: TEST_AMQP_URL,
  AMQP_PREFIX: prefix,
  DATA_DIR: dataDir,
  DEFAULT_PROCESSOR: 'echo',
  WORKER_PROCESSORS: 'echo',
  RETRY_DELAYS_MS: '1000',
  METRICS_PORT: '0',
};
const echoQueue = `${prefix}.tasks.echo`;
const started: WarrenProcess[] = [];
let gateway: Gateway;
let parkedId: string;

async function submit(fields: Record<string, string>): Promise<string> {
  const response = await submitForm(gateway.url, fields);
  expect(response.status).toBe(202);
  return ((await response.json()) as Submitted).task_id;
}

async function dashboard(query = ''): Promise<DashboardData> {
  const response = await fetch(`${gateway.url}/dashboard.json${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as DashboardData;
}

/** Poll the dashboard until `ready` holds (the broker and the recorder work asynchronously). */
async function dashboardWhen(ready: (data: DashboardData) => boolean, query = '', timeoutMs = 10_000): Promise<DashboardData> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const data = await dashboard(query);
    if (ready(data)) return data;
    if (Date.now() > deadline) throw new Error(`dashboard never reached the expected state; last:\n${JSON.stringify(data, null, 2)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function deadLetters(data: DashboardData): NonNullable<Extract<DashboardData['broker'], { reachable: true }>['dead_letters']> {
  if (!data.broker.reachable) throw new Error(`broker unreachable: ${data.broker.problem}`);
  return data.broker.dead_letters;
}

beforeAll(async () => {
  gateway = await startGateway(env);
  started.push(gateway);
  // A valid task parked in the dead-letter queue, the honest way: the gateway accepts a real task
  // (PENDING row + the message it published), and before any worker exists we take that message
  // off its queue and dead-letter it exactly as a worker does (same body and properties, plus
  // x-warren-reason/-queue). It is what an operator finds after, say, a worker release that
  // wrongly refused good tasks. The dead-letter watch records such a task FAILURE with the reason
  // (no accepted task waits for ever on an operator); redriving it cannot change that record, so
  // the redrive leaves it in the DLQ and says why.
  parkedId = await submit({ item_a: 'parked' });
  const parked = await takeMessage(echoQueue);
  await publishRaw(`${prefix}.dlx`, echoQueue, parked.content, {
    messageId: parked.properties.messageId as string,
    type: parked.properties.type as string,
    contentType: parked.properties.contentType as string,
    headers: { 'x-warren-reason': 'test: parked while no worker ran', 'x-warren-queue': echoQueue, 'x-warren-dead-lettered-at': new Date().toISOString() },
  });
  started.push(await startWorker(env));
});

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  await deletePrefix(prefix);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('dashboard.json', () => {
  const succeeded: string[] = [];
  let failed: string;

  it('lists the tasks with their statuses, and counts them', async () => {
    for (const n of [1, 2, 3]) succeeded.push(await submit({ item_a: `ok ${n}` }));
    failed = await submit({ fail: 'boom' });
    for (const id of [...succeeded, failed]) await waitForTerminal(gateway.url, id);

    const data = await dashboard();
    const byId = new Map(data.tasks.map((task) => [task.task_id, task]));
    for (const id of succeeded)
      expect(byId.get(id)).toMatchObject({ status: 'SUCCESS', processor: 'echo', attempts: 1, error: null, page_url: `/prediction/tasks/${id}` });
    expect(byId.get(failed)).toMatchObject({ status: 'FAILURE', error: { code: 'echo_failed', message: 'boom' } });
    expect(byId.get(parkedId)).toMatchObject({ status: 'FAILURE', error: { code: 'dead_lettered', message: 'test: parked while no worker ran' } });
    // Newest first.
    expect(data.tasks.map((task) => task.task_id)).toEqual([failed, ...[...succeeded].reverse(), parkedId]);

    expect(data.counts.by_status).toEqual({ PENDING: 0, STARTED: 0, RETRY: 0, SUCCESS: 3, FAILURE: 2, REVOKED: 0 });
    expect(data.counts.finished_last_minute).toMatchObject({ SUCCESS: 3, FAILURE: 2 });
    expect(data.counts.finished_last_hour).toMatchObject({ SUCCESS: 3, FAILURE: 2 });
    expect(data.rate).toEqual({ window_seconds: 300, finished: 5, per_minute: 1 });
    expect(byId.get(succeeded[0]!)!.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('filters by status and processor, and pages with before', async () => {
    expect((await dashboard('?status=FAILURE')).tasks.map((t) => t.task_id)).toEqual([failed, parkedId]);
    expect((await dashboard('?status=success&processor=echo')).tasks.map((t) => t.task_id).sort()).toEqual([...succeeded].sort());
    expect((await dashboard('?processor=categorize')).tasks).toEqual([]);

    const first = await dashboard('?limit=2');
    expect(first.tasks).toHaveLength(2);
    expect(first.next_before).toBe(Date.parse(first.tasks[1]!.created_at));
    const second = await dashboard(`?limit=2&before=${first.next_before}`);
    const third = await dashboard(`?limit=2&before=${second.next_before}`);
    const paged = [...first.tasks, ...second.tasks, ...third.tasks].map((t) => t.task_id);
    expect(paged).toEqual((await dashboard()).tasks.map((t) => t.task_id));
    expect(third.next_before).toBeNull();
  });

  it('shows every queue with its depth and consumers', async () => {
    const data = await dashboard();
    if (!data.broker.reachable) throw new Error(data.broker.problem);
    const queues = new Map(data.broker.queues.map((q) => [q.name, q]));
    expect(queues.get(echoQueue)!.consumers).toBeGreaterThanOrEqual(1);
    expect(queues.get(`${prefix}.results`)!.consumers).toBeGreaterThanOrEqual(1);
    // The gateway declares a queue for every processor it knows; this worker serves only echo.
    expect(queues.get(`${prefix}.tasks.categorize`)).toEqual({ name: `${prefix}.tasks.categorize`, role: 'work', messages: 0, consumers: 0 });
    expect(queues.get(`${prefix}.dead-letters`)?.role).toBe('holding');
    // Roles from the topology: a retry tier waits out its TTL with no consumer by design, and a
    // stream's readers are not counted by RabbitMQ over AMQP (unknown, not zero).
    expect(queues.get(`${prefix}.retry.1000ms`)).toMatchObject({ role: 'delay', consumers: 0 });
    expect(queues.get(`${prefix}.revocations`)).toMatchObject({ role: 'stream', consumers: null });
  });
});

describe('dead letters', () => {
  const malformedReason = /TaskMessage invalid/;
  let firstDeath: string;

  it('shows a malformed task message the worker dead-lettered, with its reason and queue, without taking it', async () => {
    await publishRaw(`${prefix}.tasks`, 'echo', Buffer.from('{}'));
    const data = await dashboardWhen((d) => deadLetters(d).count === 2);
    const letters = deadLetters(data).messages;
    expect(letters.map((m) => m.index)).toEqual([0, 1]);
    const parked = letters.find((m) => m.message_id === parkedId);
    const malformed = letters.find((m) => m.body_preview === '{}');
    expect(parked).toMatchObject({ reason: 'test: parked while no worker ran', queue: echoQueue, type: 'warren.task' });
    expect(malformed).toMatchObject({ queue: echoQueue, message_id: null, size: 2 });
    expect(malformed!.reason).toMatch(malformedReason);
    firstDeath = malformed!.dead_lettered_at!;
    // Peeking left them in place.
    expect(deadLetters(await dashboard()).count).toBe(2);
  });

  it('redrives to the original queues: the malformed one comes back with a fresh reason; a finished task and an orphan stay, each with its reason', async () => {
    // An orphan: no header or x-death names where it came from, so there is nowhere to send it.
    await publishRaw(`${prefix}.dlx`, 'somewhere', Buffer.from('orphan'), { messageId: 'orphan-1' });
    await dashboardWhen((d) => deadLetters(d).count === 3);

    const response = await fetch(`${gateway.url}/dashboard/dead-letters/redrive`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'limit=100',
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { redriven: number; skipped: { message_id: string; reason: string }[] };
    expect(result.redriven).toBe(1);
    expect(result.skipped).toEqual(
      expect.arrayContaining([
        { message_id: 'orphan-1', reason: 'no original queue recorded' },
        { message_id: parkedId, reason: `task ${parkedId} has finished (FAILURE); send it anew instead` },
      ]),
    );
    expect(result.skipped).toHaveLength(2);
    expect(await waitForTerminal(gateway.url, parkedId)).toMatchObject({ status: 'FAILURE', error: { code: 'dead_lettered' } });
    const data = await dashboardWhen((d) => deadLetters(d).count === 3 && deadLetters(d).messages.some((m) => m.queue === echoQueue && m.message_id === null));
    // Which comes first depends on when the broker took the orphan back and the malformed one in again.
    const orphan = deadLetters(data).messages.find((m) => m.message_id === 'orphan-1');
    const malformed = deadLetters(data).messages.find((m) => m.queue === echoQueue && m.message_id === null);
    expect(orphan).toMatchObject({ message_id: 'orphan-1', queue: null, reason: null, body_preview: 'orphan' });
    expect(malformed!.queue).toBe(echoQueue);
    expect(malformed!.reason).toMatch(malformedReason);
    expect(Date.parse(malformed!.dead_lettered_at!)).toBeGreaterThan(Date.parse(firstDeath));
  });

  it('answers the HTML form with 303 to the dashboard, which reports the outcome', async () => {
    const response = await fetch(`${gateway.url}/dashboard/dead-letters/redrive`, {
      method: 'POST',
      headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      body: 'limit=10',
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    // The malformed message goes (and comes back: the pass stops when it meets its own), the orphan and the finished task stay.
    expect(response.headers.get('location')).toBe('/prediction/dashboard?redriven=1&skipped=2');
    const page = await (await fetch(`${gateway.url}/dashboard?redriven=1&skipped=2`)).text();
    expect(page).toContain(
      'Redrove 1 message to its queue. 2 messages stay in the dead-letter queue: they name no queue warren knows, or a task that has finished.',
    );
  });

  it('refuses a redrive posted from another site', async () => {
    const response = await fetch(`${gateway.url}/dashboard/dead-letters/redrive`, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: { code: 'cross_site_request' } });
  });
});

describe('the HTML page', () => {
  it('renders the counts, queues, dead letters and tasks, escaping what tasks wrote', async () => {
    const hostile = await submit({ fail: '<script>alert("owned")</script>' });
    await waitForTerminal(gateway.url, hostile);
    const response = await fetch(`${gateway.url}/dashboard`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<meta http-equiv="refresh" content="5; url=/prediction/dashboard">');
    expect(html).toContain(`href="/prediction/tasks/${hostile}"`);
    expect(html).toContain(`href="/prediction/tasks/${parkedId}"`);
    expect(html).toContain('&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;');
    expect(html).not.toContain('<script>alert');
    expect(html).toContain(echoQueue);
    expect(html).toContain('action="/prediction/dashboard/dead-letters/redrive"');
    expect(html).toMatch(/TaskMessage invalid/);
  });
});

describe('bad input', () => {
  it.each(['?status=DONE', '?limit=0', '?limit=201', '?limit=ten', '?before=-5', '?processor=No%20Such', '?status=SUCCESS&status=FAILURE'])(
    'answers %s with a 400 envelope',
    async (query) => {
      for (const route of ['/dashboard', '/dashboard.json']) {
        const response = await fetch(`${gateway.url}${route}${query}`);
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ error: { code: 'invalid_query', message: expect.any(String) } });
      }
    },
  );

  it('refuses a bad redrive limit', async () => {
    const response = await fetch(`${gateway.url}/dashboard/dead-letters/redrive`, { method: 'POST', body: new URLSearchParams({ limit: '0' }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'invalid_body', message: 'limit must be between 1 and 10000' } });
  });
});

describe('without a broker, and switched off', () => {
  // Nothing listens on port 1: these gateways never reach a broker, so they declare nothing.
  const offline = { AMQP_URL: 'amqp://guest:guest@127.0.0.1:1', METRICS_PORT: '0' };

  async function startOffline(extra: Record<string, string>): Promise<string> {
    const dir = fs.mkdtempSync(path.join(dataDir, 'offline-'));
    const child = startProcess('gateway/main.ts', { ...offline, PORT: '0', DATA_DIR: dir, ...extra });
    started.push(child);
    const listening = await child.waitForLog((line) => line.msg === 'gateway listening');
    return `http://127.0.0.1:${String(listening.port)}/prediction`;
  }

  it('still renders, saying the broker is unreachable', async () => {
    const url = await startOffline({});
    const page = await fetch(`${url}/dashboard`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Broker unreachable');
    const data = (await (await fetch(`${url}/dashboard.json`)).json()) as DashboardData;
    expect(data.broker.reachable).toBe(false);
    expect(data.tasks).toEqual([]);
  });

  it('is not there with DASHBOARD=off', async () => {
    const url = await startOffline({ DASHBOARD: 'off' });
    for (const [method, route] of [
      ['GET', '/dashboard'],
      ['GET', '/dashboard.json'],
      ['POST', '/dashboard/dead-letters/redrive'],
    ] as const) {
      const response = await fetch(`${url}${route}`, { method });
      expect(response.status).toBe(404);
    }
  });
});

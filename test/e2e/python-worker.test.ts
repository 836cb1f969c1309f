import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishRaw, takeMessage, TEST_AMQP_URL } from '../support/broker.js';
import { submitJson, waitForTerminal, type StatusDocument, type Submitted } from '../support/client.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { pythonSdkAvailable, startPythonWorker } from '../support/python.js';
import { testStack, type TestStack } from '../support/stack.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * Python processors (worker/python, test/fixtures/python) behind real gateways, on the shared
 * broker: what the Node worker guarantees must hold for them too. Two stacks: one whose Python
 * worker stays up (heartbeat 2 s, with a 20 s run that keeps the interpreter busy from the start to
 * the end of the file), and one whose workers are killed, stopped, disconnected and started late.
 * The gateways know the processors from the built-in `echo` and test/fixtures/processors.
 */
const FIXTURES = ['test/fixtures/python'];
const GATEWAY_ENV = { PROCESSORS_DIR: 'test/fixtures/processors' };
const EXTRA = { extraProcessors: ['flaky', 'crash', 'big-result'] };
// `batched` is served only here and known to no gateway: its tasks are published to its queue directly.
const main = testStack('python-worker', { ...GATEWAY_ENV, RETRY_DELAYS_MS: '200' }, { extraProcessors: [...EXTRA.extraProcessors, 'batched'] });
const life = testStack('python-lifecycle', GATEWAY_ENV, EXTRA);
const workers: WarrenProcess[] = [];
let gateway: Gateway;
let lifeGateway: Gateway;
let steady: WarrenProcess;
/** The two workers the second stack starts with, each reaching the broker through its own proxy. */
let pair: WarrenProcess[];
const proxies = new Map<WarrenProcess, TcpProxy>();
let spinning: string;

interface Tapped {
  routingKey: string;
  properties: amqp.MessageProperties;
  event: { task_id: string; event_id: string; status: string; attempt: number; error?: { code: string; message: string }; [key: string]: unknown };
}
const tapped: Tapped[] = [];
let tap: amqp.ChannelModel | undefined;

async function pythonWorker(stack: TestStack, modules: string[], env: Record<string, string> = {}): Promise<WarrenProcess> {
  const worker = await startPythonWorker({ ...stack.env, ...env }, modules, FIXTURES);
  workers.push(worker);
  return worker;
}

async function submit(url: string, body: Record<string, unknown>): Promise<string> {
  const response = await submitJson(url, body);
  expect(response.status).toBe(202);
  return ((await response.json()) as Submitted).task_id;
}

const status = async (url: string, id: string): Promise<StatusDocument> => (await (await fetch(`${url}/task_status/${id}`)).json()) as StatusDocument;

async function waitForStatus(url: string, id: string, wanted: (document: StatusDocument) => boolean, timeoutMs = 10_000): Promise<StatusDocument> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const document = await status(url, id);
    if (wanted(document)) return document;
    if (Date.now() > deadline) throw new Error(`task ${id} did not get there within ${timeoutMs} ms: ${JSON.stringify(document)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const logged = (worker: WarrenProcess, msg: string, taskId: string, timeoutMs = 10_000) =>
  worker.waitForLog((line) => line.msg === msg && line.taskId === taskId, timeoutMs);
const eventsOf = (taskId: string): Tapped[] => tapped.filter((t) => t.event.task_id === taskId);

beforeAll(async () => {
  if (!pythonSdkAvailable) return;
  [gateway, lifeGateway] = await Promise.all([main.gateway(), life.gateway()]);
  // Every task event of the first stack, as the broker routes it, to check what workers publish.
  tap = await amqp.connect(TEST_AMQP_URL);
  const channel = await tap.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, `${main.prefix}.events`, 'task.#');
  await channel.bindQueue(queue, `${life.prefix}.events`, 'task.#');
  await channel.consume(
    queue,
    (message) =>
      message &&
      tapped.push({ routingKey: message.fields.routingKey, properties: message.properties, event: JSON.parse(message.content.toString()) as Tapped['event'] }),
    { noAck: true },
  );

  // STARTED after 100 ms here (the default is 20): a fast task is told from a slow one on a busy machine too.
  const lifeEnv = { LOG_LEVEL: 'debug', WORKER_CONCURRENCY: '2', SHUTDOWN_GRACE_MS: '800', STARTED_REPORT_DELAY_MS: '100' };
  const broker = new URL(TEST_AMQP_URL);
  const [firstProxy, secondProxy] = await Promise.all([1, 2].map(() => startTcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) })));
  const through = (proxy: TcpProxy): string => Object.assign(new URL(TEST_AMQP_URL), { port: String(proxy.port) }).toString();
  let first: WarrenProcess, second: WarrenProcess;
  [steady, first, second] = await Promise.all([
    pythonWorker(main, ['echo', 'flaky', 'big_result', 'batched'], {
      AMQP_URL: `${TEST_AMQP_URL}/?heartbeat=2`,
      WORKER_PROCESSORS: 'echo,flaky,big-result,batched',
      WORKER_CONCURRENCY: '4',
      // Every run reports STARTED at once, so the event sequences checked below are exact.
      STARTED_REPORT_DELAY_MS: '0',
      MAX_RESULT_BYTES: '65536',
      SHUTDOWN_GRACE_MS: '1000',
    }),
    pythonWorker(life, ['echo'], { ...lifeEnv, AMQP_URL: through(firstProxy!) }),
    pythonWorker(life, ['echo'], { ...lifeEnv, AMQP_URL: through(secondProxy!) }),
  ]);
  pair = [first, second];
  proxies.set(first, firstProxy!).set(second, secondProxy!);
  // A model call that never sleeps nor does I/O, for 20 s: it runs while everything else here does.
  spinning = await submit(gateway.url, { processor: 'echo', spin_ms: 20_000 });
});

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await tap?.close();
  await Promise.all([...proxies.values()].map((proxy) => proxy.close()));
  await Promise.all([main.stop(), life.stop()]);
});

describe.skipIf(!pythonSdkAvailable)('a Python processor behind a gateway', () => {
  it("shows the run's progress in task_status while it runs", async () => {
    const id = await submit(gateway.url, { processor: 'echo', item_a: 'TV', progress: 0.5, progress_message: 'half way', sleep_ms: 1500 });
    const running = await waitForStatus(gateway.url, id, (d) => d.progress === 0.5);
    expect(running).toMatchObject({ status: 'STARTED', progress: 0.5, progress_message: 'half way' });
    const done = await waitForTerminal(gateway.url, id);
    expect(done).toMatchObject({ status: 'SUCCESS', attempts: 1 });
    expect(await (await fetch(`${gateway.url}/task_result/${id}`)).json()).toEqual({
      fields: { item_a: 'TV', progress: 0.5, progress_message: 'half way' },
      files: [],
      attempt: 1,
    });
    const progress = eventsOf(id).find((t) => t.event.progress === 0.5);
    expect(progress).toMatchObject({ routingKey: 'task.started.echo', event: { status: 'STARTED', message: 'half way', attempt: 1 } });
  });

  it('aborts a running task on cancel: REVOKED, the run sees ctx.cancelled, and nothing is published after', async () => {
    const id = await submit(gateway.url, { processor: 'echo', sleep_ms: 20_000 });
    await waitForStatus(gateway.url, id, (d) => d.status === 'STARTED');
    const response = await fetch(`${gateway.url}/task_cancel/${id}`, { method: 'POST' });
    expect(response.status).toBe(202);
    await logged(steady, 'task cancelled while running; aborted it', id);
    expect(await logged(steady, 'run saw the cancel', id)).toMatchObject({ reason: 'revoked', cancelled: true });
    // The run raised Cancelled: a runner that took that for a failure would publish RETRY now.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(eventsOf(id).map((t) => t.event.status)).toEqual(['STARTED', 'REVOKED']);
    expect(await status(gateway.url, id)).toMatchObject({ status: 'REVOKED', error: { code: 'revoked' } });
  });

  it('retries a transient error through RETRY and backoff, and succeeds on attempt 3', async () => {
    const id = await submit(gateway.url, { processor: 'flaky' });
    expect(await waitForTerminal(gateway.url, id)).toMatchObject({ status: 'SUCCESS', attempts: 3, error: null });
    expect(await (await fetch(`${gateway.url}/task_result/${id}`)).json()).toEqual({ attempt: 3 });
    const events = eventsOf(id);
    expect(events.map((t) => `${t.routingKey} ${t.event.attempt}`)).toEqual([
      'task.started.flaky 1',
      'task.retry.flaky 1',
      'task.started.flaky 2',
      'task.retry.flaky 2',
      'task.started.flaky 3',
      'task.success.flaky 3',
    ]);
    expect(events[1]!.event.error).toEqual({ code: 'internal_error', message: 'RuntimeError: transient failure on attempt 1' });
    for (const { properties, event } of events) {
      expect(properties).toMatchObject({
        messageId: event.event_id,
        correlationId: id,
        type: 'warren.task.event',
        contentType: 'application/json',
        deliveryMode: 2,
      });
      expect(event.worker).toBe(`${os.hostname()}:${steady.child.pid}`);
    }
  });

  it('dead-letters malformed and misrouted task messages with the reason, and keeps serving', async () => {
    const before = Date.now();
    await publishRaw(`${main.prefix}.tasks`, 'echo', Buffer.from(JSON.stringify({ type: 'warren.task', version: 1, task_id: 'nope' })), {
      messageId: 'm-1',
      type: 'warren.task',
    });
    await publishRaw(`${main.prefix}.tasks`, 'echo', Buffer.from('{"half": '));
    const misrouted = {
      type: 'warren.task',
      version: 1,
      task_id: randomUUID(),
      processor: 'flaky',
      submitted_at: new Date().toISOString(),
      attempt: 1,
      input: { fields: {}, files: [] },
    };
    await publishRaw(`${main.prefix}.tasks`, 'echo', Buffer.from(JSON.stringify(misrouted)));

    const first = await takeMessage(`${main.prefix}.dead-letters`);
    expect(String(first.properties.headers?.['x-warren-reason'])).toMatch(/^TaskMessage invalid: \/task_id must be a UUID/);
    expect(first.properties.headers?.['x-warren-queue']).toBe(`${main.prefix}.tasks.echo`);
    expect(Date.parse(String(first.properties.headers?.['x-warren-dead-lettered-at']))).toBeGreaterThanOrEqual(before - 1000);
    expect(first.properties).toMatchObject({ messageId: 'm-1', type: 'warren.task' });
    expect(first.fields.routingKey).toBe(`${main.prefix}.tasks.echo`);
    expect((await takeMessage(`${main.prefix}.dead-letters`)).properties.headers?.['x-warren-reason']).toBe('body is not valid JSON');
    expect((await takeMessage(`${main.prefix}.dead-letters`)).properties.headers?.['x-warren-reason']).toBe(`task for "flaky" arrived on the queue of "echo"`);

    const id = await submit(gateway.url, { processor: 'echo', item_a: 'still here' });
    expect((await waitForTerminal(gateway.url, id)).status).toBe('SUCCESS');
    expect(steady.child.exitCode).toBeNull();
  });

  it('fails a result over MAX_RESULT_BYTES or not JSON at once, never retried', async () => {
    const big = await submit(gateway.url, { processor: 'big-result', mib: 0.1 });
    const notJson = await submit(gateway.url, { processor: 'echo', not_json: true });
    expect(await waitForTerminal(gateway.url, big)).toMatchObject({ status: 'FAILURE', attempts: 1, error: { code: 'result_too_large' } });
    expect(await waitForTerminal(gateway.url, notJson)).toMatchObject({ status: 'FAILURE', attempts: 1, error: { code: 'result_not_json' } });
  });

  it('gives the run local paths of its input files and serves the files it writes', async () => {
    // Through the gateway: an artifact is the result.
    const id = await submit(gateway.url, { processor: 'echo', artifact: 'hello from python' });
    expect((await waitForTerminal(gateway.url, id)).status).toBe('SUCCESS');
    const result = await fetch(`${gateway.url}/task_result/${id}`);
    expect(result.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await result.text()).toBe('hello from python');

    // A task naming a file on the volume (echo takes none through the gateway's form).
    const taskId = randomUUID();
    fs.mkdirSync(path.join(main.dataDir, 'uploads', taskId), { recursive: true });
    fs.writeFileSync(path.join(main.dataDir, 'uploads', taskId, '0-note.txt'), 'note');
    const file = { name: 'note.txt', content_type: 'text/plain', size: 4, location: `volume:uploads/${taskId}/0-note.txt` };
    const task = {
      type: 'warren.task',
      version: 1,
      task_id: taskId,
      processor: 'echo',
      submitted_at: new Date().toISOString(),
      attempt: 1,
      input: { fields: { artifact: 'out' }, files: [file] },
    };
    await publishRaw(`${main.prefix}.tasks`, 'echo', Buffer.from(JSON.stringify(task)));
    const deadline = Date.now() + 10_000;
    while (!eventsOf(taskId).some((t) => t.event.status === 'SUCCESS') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    const success = eventsOf(taskId).find((t) => t.event.status === 'SUCCESS')!.event;
    expect(success.result).toMatchObject({ files: [{ ...file, read_bytes: 4, sha256: createHash('sha256').update('note').digest('hex') }] });
    expect(success.artifacts).toEqual([{ name: 'out.txt', content_type: 'text/plain', size: 3, location: `volume:artifacts/${taskId}/out.txt` }]);
    expect(fs.readFileSync(path.join(main.dataDir, 'artifacts', taskId, 'out.txt'), 'utf8')).toBe('out');
  });
});

describe.skipIf(!pythonSdkAvailable)('batched inference in Python', () => {
  /** Publish tasks for `batched` at once, on one confirm channel, as a gateway would. */
  async function publishBatched(fields: Record<string, unknown>[]): Promise<string[]> {
    const connection = await amqp.connect(TEST_AMQP_URL);
    const channel = await connection.createConfirmChannel();
    const ids = fields.map((f) => {
      const task = {
        type: 'warren.task',
        version: 1,
        task_id: randomUUID(),
        processor: 'batched',
        submitted_at: new Date().toISOString(),
        attempt: 1,
        input: { fields: f, files: [] },
      };
      channel.publish(`${main.prefix}.tasks`, 'batched', Buffer.from(JSON.stringify(task)), { persistent: true, messageId: task.task_id, type: 'warren.task' });
      return task.task_id;
    });
    await channel.waitForConfirms();
    await connection.close();
    return ids;
  }

  async function finalEvent(id: string): Promise<Tapped['event']> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const final = eventsOf(id).find((t) => t.event.status === 'SUCCESS' || t.event.status === 'FAILURE');
      if (final) return final.event;
      if (Date.now() > deadline) throw new Error(`no final event for ${id}: ${JSON.stringify(eventsOf(id).map((t) => t.event.status))}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('answers tasks that arrive together in shared run_batch calls, each task with its own events and result', async () => {
    const ids = await publishBatched(Array.from({ length: 8 }, (_, n) => ({ n })));
    const results = [];
    for (const id of ids) {
      const event = await finalEvent(id);
      expect(event).toMatchObject({ status: 'SUCCESS', attempt: 1 });
      expect(eventsOf(id)[0]!.event.status).toBe('STARTED');
      results.push(event.result as { n: number; call: string; size: number });
    }
    expect(results.map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const calls = new Map(results.map((r) => [r.call, r.size]));
    expect(Math.max(...calls.values())).toBeLessThanOrEqual(4);
    expect(calls.size).toBeLessThan(8);
    for (const [call, size] of calls) expect(results.filter((r) => r.call === call)).toHaveLength(size);
  });

  it('fails one task of a batch alone, and retries another alone, while the rest succeed', async () => {
    const [ok, bad, flaky] = await publishBatched([{ n: 1 }, { n: 2, fail: 'no good' }, { n: 3, flaky: true }]);
    expect(await finalEvent(ok!)).toMatchObject({ status: 'SUCCESS', attempt: 1 });
    expect(await finalEvent(bad!)).toMatchObject({ status: 'FAILURE', attempt: 1, error: { code: 'batched_failed', message: 'no good' } });
    expect(await finalEvent(flaky!)).toMatchObject({ status: 'SUCCESS', attempt: 2 });
    expect(eventsOf(flaky!).map((t) => t.event.status)).toEqual(['STARTED', 'RETRY', 'STARTED', 'SUCCESS']);
  });
});

describe.skipIf(!pythonSdkAvailable)('Python workers coming and going', () => {
  let survivor: WarrenProcess;
  let long: string;

  it('reports STARTED only for a run still going after STARTED_REPORT_DELAY_MS, and progress only after it', async () => {
    const [fast, slow] = await Promise.all([
      submit(lifeGateway.url, { processor: 'echo', item_a: 'quick' }),
      submit(lifeGateway.url, { processor: 'echo', progress: 0.5, sleep_ms: 400 }),
    ]);
    for (const id of [fast, slow]) expect(await waitForTerminal(lifeGateway.url, id)).toMatchObject({ status: 'SUCCESS', attempts: 1 });
    // The tap is fed by the same exchange as the recorder: give it a moment to catch up.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(eventsOf(fast).map((t) => t.event.status)).toEqual(['SUCCESS']);
    // Progress reported at once by the run waits for the STARTED it follows.
    expect(eventsOf(slow).map((t) => [t.event.status, t.event.progress])).toEqual([
      ['STARTED', undefined],
      ['STARTED', 0.5],
      ['SUCCESS', undefined],
    ]);
  });

  it('loses nothing when the worker running a task is SIGKILLed: another Python worker completes it', async () => {
    const id = await submit(lifeGateway.url, { processor: 'echo', item_a: 'survives', sleep_ms: 2500 });
    const runner = await Promise.race(pair.map((w) => logged(w, 'task started', id).then(() => w)));
    survivor = pair.find((w) => w !== runner)!;
    // Recorded STARTED: an ack sent early (before the final event) would have reached the broker by now.
    await waitForStatus(lifeGateway.url, id, (d) => d.status === 'STARTED');
    expect(await runner.stop('SIGKILL')).toBeNull();
    expect(await logged(survivor, 'task started', id)).toMatchObject({ attempt: 2 });
    expect(await waitForTerminal(lifeGateway.url, id, 15_000)).toMatchObject({ status: 'SUCCESS', attempts: 2 });
    expect(await (await fetch(`${lifeGateway.url}/task_result/${id}`)).json()).toMatchObject({ fields: { item_a: 'survives' }, attempt: 2 });
  });

  it('reconnects by itself after the broker drops its connection, reruns what was in flight, and honours a cancel made while it was away', async () => {
    const inFlight = await submit(lifeGateway.url, { processor: 'echo', item_a: 'in flight', progress: 0.5, sleep_ms: 3000 });
    // Progress comes from inside the processor: the run is in its sleep, not about to begin.
    await waitForStatus(lifeGateway.url, inFlight, (d) => d.progress === 0.5);
    // The path to the broker is reset and stays closed until the cancel below is recorded.
    const proxy = proxies.get(survivor)!;
    proxy.cut();
    await survivor.waitForLog((line) => line.msg === 'broker disconnected');
    const cancelled = await submit(lifeGateway.url, { processor: 'echo', item_a: 'cancelled while away' });
    expect((await fetch(`${lifeGateway.url}/task_cancel/${cancelled}`, { method: 'POST' })).status).toBe(202);
    proxy.restore();
    await logged(survivor, 'task was cancelled before it ran; skipping it', cancelled);
    expect(survivor.logs.filter((line) => line.msg === 'worker consuming')).toHaveLength(2);
    const after = await submit(lifeGateway.url, { processor: 'echo', item_a: 'after reconnect' });
    expect((await waitForTerminal(lifeGateway.url, after)).status).toBe('SUCCESS');
    expect(survivor.logs.some((line) => line.msg === 'task started' && line.taskId === cancelled)).toBe(false);
    // The run whose channel went was asked to stop and published nothing; the broker's redelivery ran it again.
    expect(await logged(survivor, 'run saw the cancel', inFlight)).toMatchObject({ reason: 'connection_lost' });
    expect(await waitForTerminal(lifeGateway.url, inFlight, 15_000)).toMatchObject({ status: 'SUCCESS', attempts: 2 });
  }, 30_000);

  it('drains on SIGTERM: a run that ends within SHUTDOWN_GRACE_MS is published, a longer one goes back to the queue, exit 0', async () => {
    const short = await submit(lifeGateway.url, { processor: 'echo', sleep_ms: 200 });
    long = await submit(lifeGateway.url, { processor: 'echo', sleep_ms: 2000 });
    await Promise.all([logged(survivor, 'task started', short), logged(survivor, 'task started', long)]);
    const began = Date.now();
    expect(await survivor.stop('SIGTERM')).toBe(0);
    expect(Date.now() - began).toBeLessThan(800 + 3000);
    expect(await status(lifeGateway.url, short)).toMatchObject({ status: 'SUCCESS', attempts: 1 });
    expect(await logged(survivor, 'task interrupted by shutdown; requeueing it', long)).toBeDefined();
    expect(survivor.logs.at(-1)).toMatchObject({ msg: 'worker stopped' });
    expect((await status(lifeGateway.url, long)).status).toBe('STARTED');
  });

  it('skips a task cancelled while queued, on a worker started after the cancel, and runs what was requeued', async () => {
    const queued = await submit(lifeGateway.url, { processor: 'echo', item_a: 'never runs' });
    const response = await fetch(`${lifeGateway.url}/task_cancel/${queued}`, { method: 'POST' });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ status: 'REVOKED' });

    const late = await pythonWorker(life, ['echo'], { LOG_LEVEL: 'debug', WORKER_CONCURRENCY: '2', TASK_TIMEOUT_MS: '4000' });
    await logged(late, 'task was cancelled before it ran; skipping it', queued);
    expect(await waitForTerminal(lifeGateway.url, long)).toMatchObject({ status: 'SUCCESS', attempts: 2 });
    expect(await status(lifeGateway.url, queued)).toMatchObject({ status: 'REVOKED', started_at: null });
  });

  it('fails a run that outlives TASK_TIMEOUT_MS as timed_out, and the run sees the cancel', async () => {
    const late = workers.at(-1)!;
    const id = await submit(lifeGateway.url, { processor: 'echo', sleep_ms: 20_000 });
    expect(await waitForTerminal(lifeGateway.url, id, 10_000)).toMatchObject({
      status: 'FAILURE',
      attempts: 1,
      error: { code: 'timed_out', message: 'timed out after 4000 ms' },
    });
    expect(await logged(late, 'run saw the cancel', id)).toMatchObject({ reason: 'timed_out' });
  });
});

describe.skipIf(!pythonSdkAvailable)('heartbeats', () => {
  it('keep the connection through a 20 s run that holds the interpreter (heartbeat 2 s)', async () => {
    // The connection really beats every 2 s: a silent one would be closed by the broker within ~4 s.
    const listing = execFileSync('rabbitmqctl', ['list_connections', 'timeout', 'client_properties', '-q'], { encoding: 'utf8' });
    const line = listing.split('\n').find((entry) => entry.includes(`:${steady.child.pid}"`));
    expect(line?.split('\t')[0]).toBe('2');
    expect(await waitForTerminal(gateway.url, spinning, 30_000)).toMatchObject({ status: 'SUCCESS', attempts: 1 });
    expect(steady.logs.filter((entry) => entry.msg === 'broker disconnected')).toEqual([]);
    expect(steady.logs.filter((entry) => entry.msg === 'broker connected')).toHaveLength(1);
  }, 40_000);
});

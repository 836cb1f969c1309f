import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRabbitmq, startNode, type NodeHandle } from '../../scripts/ensure-broker.js';
import { freeBrokerPorts, freePort } from '../support/ports.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { testStack, type TestStack } from '../support/stack.js';

/**
 * One bounded fault-injection run against real processes and a RabbitMQ node of this test's own
 * (its own node name, ports and data dir; never the machine's shared broker): eight clients submit
 * echo tasks — some with an Idempotency-Key they send again, some under `Prefer: wait` — and poll
 * either of two gateways, while we SIGKILL workers mid-task at random moments (each replaced),
 * SIGKILL a gateway (replaced on the same DATA_DIR), SIGTERM a worker, and stop and restart the
 * broker twice; another client sends malformed requests all the while. Afterwards every accepted
 * task is SUCCESS with its own result, alike on every live gateway, every row the store holds is
 * terminal, no request made two tasks, and no answer was a 5xx — except 503, and only while the
 * broker was down (from its stop until every process had reconnected).
 */
const binaries = findRabbitmq();
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-faults-node-'));
let port: number;
let node: NodeHandle | undefined;
let stack: TestStack | undefined;
/** The fault sequence of the run, and the flag that makes it (and the clients) give up when the test failed or timed out. */
let faultRun: Promise<void> | undefined;
let abandoned = false;
// Without the management and Prometheus plugins, which the run does not use: with either, each graceful stop takes 6.2 s, not 1.2 s.
const boot = (): Promise<NodeHandle> =>
  startNode({ ...binaries!, host: '127.0.0.1', port, base, nodeName: `warren-faults-${port}@localhost`, plugins: [], log: () => {} });

const CLIENTS = 8;
const WORKER_SIGKILLS = 5;
const BROKER_RESTARTS = 2;
/** The load stops once the faults are done and TAIL_TASKS more were accepted — at the latest at MAX_ACCEPTED or LOAD_DEADLINE_MS. */
const MAX_ACCEPTED = 4_000;
const LOAD_DEADLINE_MS = 90_000;
const TAIL_TASKS = 60;
/** Tasks accepted between two faults, so each strikes a flowing load. */
const BETWEEN_FAULTS = 40;
/** Long enough that a kill finds tasks running, short enough for hundreds of tasks. */
const SLEEP_MS = 40;
/** Submitted at once just before each broker stop, longer ones: a backlog queued and running when the broker goes. */
const BACKLOG_TASKS = 24;
const BACKLOG_SLEEP_MS = 1_000;
/** A client's pause between its tasks: a steady load, not a flood (other test files run beside this one). */
const THINK_MS = 50;
/** The malformed client's pause between requests: a steady trickle, not a flood (hostile-input.test.ts floods). */
const MALFORMED_EVERY_MS = 60;
/** A client's pause after a 503 (the gateway says Retry-After: 2; we sample the outage finer). */
const BACKOFF_MS = 250;
const SHUTDOWN_GRACE_MS = 1_500;
const REQUEST_TIMEOUT_MS = 10_000;
/** A keyed submit is sent again until answered: through a whole broker outage, however slow the node is to boot. */
const KEYED_SUBMIT_DEADLINE_MS = 60_000;
/** A 503 to a request sent this long after every process reconnected is not the outage's. */
const REFUSAL_SLACK_MS = 500;

interface Worker {
  process: WarrenProcess;
  /** Its /metrics port: the in-flight gauge says whether it is mid-task. */
  metricsPort: number;
}
/** Two slots each; a killed process's slot is empty until its replacement is ready. */
const gateways: (Gateway | undefined)[] = [];
const workers: (Worker | undefined)[] = [];
/** Every gateway started, the killed one too: their logs say what they did. */
const everyGateway: Gateway[] = [];

const startWorker = async (): Promise<Worker> => {
  for (let tries = 1; ; tries += 1) {
    const metricsPort = await freePort();
    const process = await stack!.worker({ METRICS_PORT: String(metricsPort) });
    // The metrics server listens before the broker connects; a port taken in between costs a retry, not the run.
    if (process.logs.some((line) => line.msg === 'metrics listening') || tries === 3) return { process, metricsPort };
    await process.stop();
  }
};

beforeAll(async () => {
  if (!binaries) return;
  [port] = (await freeBrokerPorts(1)) as [number];
  node = await boot();
  // A row the killed gateway inserted but never published is the task sweeper's (gateway/background/task-outbox.ts): past
  // PUBLISH_TIMEOUT_MS, so it never races a submit still waiting for its confirm, and well within the load.
  stack = testStack(
    'faults',
    {
      AMQP_URL: `amqp://guest:guest@127.0.0.1:${port}`,
      SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
      WORKER_CONCURRENCY: '8',
      PUBLISH_TIMEOUT_MS: '2000',
      TASK_SWEEP_GRACE_MS: '6000',
    },
    { ownBroker: true },
  );
  const [g0, g1, w0, w1] = await Promise.all([stack.gateway(), stack.gateway(), startWorker(), startWorker()]);
  gateways.push(g0, g1);
  everyGateway.push(g0, g1);
  workers.push(w0, w1);
}, 120_000);

afterAll(async () => {
  // A run that failed or timed out may be between a broker stop and the boot of the next node: let it finish, so the node we kill is the last one.
  abandoned = true;
  await faultRun?.catch(() => {});
  await stack?.stop();
  // Killed, not stopped: its data goes with `base` right after.
  await node?.kill();
  fs.rmSync(base, { recursive: true, force: true });
}, 120_000);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `condition` until it holds or `timeoutMs` passes. */
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (abandoned) throw new Error(`${what}: abandoned`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(25);
  }
}

const alive = (p: WarrenProcess): boolean => p.child.exitCode === null && p.child.signalCode === null;
const live = (): Gateway[] => gateways.filter((g): g is Gateway => g !== undefined && alive(g));
const liveWorkers = (): Worker[] => workers.filter((w): w is Worker => w !== undefined && alive(w.process));
const gatewayAt = (n: number): string => {
  const up = live();
  return up[n % up.length]!.url;
};

/** Tasks the worker is running now (0 if it does not answer). */
async function inFlight(worker: Worker): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    return Number(/^warren_worker_in_flight\{processor="echo"\} (\d+)/m.exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** A worker, chosen at random among those up, that is running tasks right now. */
async function workerMidTask(): Promise<{ slot: number; worker: Worker; inFlight: number }> {
  let found: { slot: number; worker: Worker; inFlight: number } | undefined;
  await until('a worker running tasks', async () => {
    const candidates = workers.flatMap((worker, slot) => (worker && alive(worker.process) ? [{ slot, worker }] : [])).sort(() => Math.random() - 0.5);
    for (const candidate of candidates) {
      const running = await inFlight(candidate.worker);
      // Still in its slot: not being killed or replaced by now.
      if (running > 0 && workers[candidate.slot] === candidate.worker) {
        found = { ...candidate, inFlight: running };
        return true;
      }
    }
    return false;
  });
  return found!;
}

/** Every status any client got, by code; a request that got no answer (the gateway died under it) counts apart. */
const statuses = new Map<number, number>();
/** Each 503: when its request was sent and when it was answered. */
const refusals: { sentAt: number; answeredAt: number }[] = [];
let unanswered = 0;
async function call(url: string, init: RequestInit = {}, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Response | undefined> {
  const sentAt = Date.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    if (response.status === 503) refusals.push({ sentAt, answeredAt: Date.now() });
    return response;
  } catch (err) {
    // A timeout is a hang: that is a failure, not a lost answer.
    if (err instanceof Error && err.name === 'TimeoutError') throw new Error(`${init.method ?? 'GET'} ${url} hung for ${timeoutMs} ms`);
    unanswered += 1;
    return undefined;
  }
}

function storeRows<T>(sql: string): T[] {
  const db = new Database(path.join(stack!.dataDir, 'warren.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

/** The 'broker ready' lines a process logged: one more means the publisher connected again and re-declared the topology. */
const readyLines = (p: WarrenProcess): number => p.logs.filter((line) => line.msg === 'broker ready').length;

/** Malformed requests: each must get a 4xx with the error envelope, quickly — the broker up or not. */
const MALFORMED: { name: string; send: (base: string) => [string, RequestInit] }[] = [
  { name: 'bad JSON', send: (b) => [`${b}/uploader`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"item_a": ' }] },
  {
    name: 'unknown processor',
    send: (b) => [
      `${b}/uploader`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ processor: 'no-such-model', item_a: 'x' }) },
    ],
  },
  {
    name: 'oversized field',
    send: (b) => [`${b}/uploader`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ item_a: 'x'.repeat(70_000) }) }],
  },
  { name: 'bad task id', send: (b) => [`${b}/task_status/..%2F..%2Fetc%2Fpasswd`, {}] },
  { name: 'wrong content type', send: (b) => [`${b}/uploader`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'item_a=x' }] },
  {
    name: 'truncated multipart',
    send: (b) => [
      `${b}/uploader`,
      {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
        body: '--XyZ\r\nContent-Disposition: form-data; name="item_a"\r\n\r\nhalf a valu',
      },
    ],
  },
  { name: 'huge header', send: (b) => [`${b}/echo`, { headers: { 'x-filler': 'h'.repeat(64 * 1024) } }] },
];

interface Outage {
  /** Just before the node was told to stop. */
  from: number;
  /** The node was gone; it answered again; every process had logged 'broker ready' again. */
  stoppedAt: number;
  bootedAt: number;
  to: number;
  /** Tasks not yet terminal when the stop began, and of those running: what the restart must carry through. */
  open: number;
  running: number;
}

describe.skipIf(!binaries)('faults under load, on a RabbitMQ node of our own', () => {
  it('loses and duplicates no accepted task through random worker SIGKILLs, a gateway SIGKILL, a worker SIGTERM and two broker restarts, and answers malformed requests with 4xx', async () => {
    const started = Date.now();
    const accepted = new Map<string, string>(); // task id → item
    const problems: string[] = [];
    /** Keyed submits answered only on a second try: where a row orphaned by the gateway kill would show. */
    const resent = new Set<string>();
    let submits = 0;
    let faultsDone = false;
    let acceptedAtFaultsDone = 0;
    let faultsDoneAt = Infinity;
    const outages: Outage[] = [];
    const workerKills: { at_s: number; in_flight: number }[] = [];
    const figures = {
      worker_sigkills: 0,
      gateway_sigkills: 0,
      worker_sigterms: 0,
      worker_restarts: 0,
      gateway_restarts: 0,
      broker_restarts: 0,
      malformed_sent: 0,
      malformed_4xx: 0,
      duplicates: 0,
    };

    const loadDone = (): boolean =>
      abandoned ||
      Date.now() - started > LOAD_DEADLINE_MS ||
      accepted.size >= MAX_ACCEPTED ||
      (faultsDone && accepted.size - acceptedAtFaultsDone >= TAIL_TASKS);

    /** One submit; keyed ones are retried (the same request, any gateway) until answered, unkeyed ones are not. */
    const submit = async (n: number, item: string, key: string | undefined, wait: boolean): Promise<string | undefined> => {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        ...(key ? { 'idempotency-key': key } : {}),
        ...(wait ? { prefer: 'wait=5' } : {}),
      };
      const body = JSON.stringify({ item_a: item, sleep_ms: SLEEP_MS });
      const deadline = Date.now() + KEYED_SUBMIT_DEADLINE_MS;
      for (let attempt = 0; Date.now() < deadline; attempt += 1) {
        const response = await call(`${gatewayAt(n + attempt)}/uploader`, { method: 'POST', headers, body }, 15_000);
        if (response?.status === 202 || response?.status === 200) {
          if (attempt > 0) resent.add(item);
          return ((await response.json()) as { task_id: string }).task_id;
        }
        if (response) {
          const text = await response.text();
          if (response.status !== 503) problems.push(`submit ${item}: ${response.status} ${text}`);
          else await sleep(BACKOFF_MS);
        }
        // Lost to a kill, or refused while the broker was down: only a keyed submit may be sent again.
        if (!key) return undefined;
        await sleep(100);
      }
      problems.push(`submit ${item}: never accepted within ${KEYED_SUBMIT_DEADLINE_MS} ms`);
      return undefined;
    };

    const pollUntilDone = async (n: number, taskId: string): Promise<void> => {
      const deadline = Date.now() + 10_000;
      for (let poll = n; Date.now() < deadline; poll += 1) {
        const response = await call(`${gatewayAt(poll)}/task_status/${taskId}`);
        if (response?.status === 200 && ((await response.json()) as { status: string }).status === 'SUCCESS') return;
        if (response && response.status !== 200) problems.push(`task_status ${taskId}: ${response.status} ${await response.text()}`);
        await sleep(20);
      }
      // Not a failure by itself (the broker may be down): the check after the load decides.
    };

    const client = async (n: number): Promise<void> => {
      for (let i = 0; !loadDone(); i += 1) {
        submits += 1;
        const item = `client ${n} task ${i}`;
        const key = i % 3 === 0 ? `faults-${stack!.prefix}-${n}-${i}` : undefined;
        const taskId = await submit(n, item, key, i % 5 === 1);
        if (taskId) {
          accepted.set(taskId, item);
          if (key) {
            // The retry a client makes when it is unsure: the same task, never a second one.
            const again = await submit(n + 1, item, key, false);
            if (again !== taskId) {
              figures.duplicates += 1;
              problems.push(`key ${key}: first ${taskId}, then ${again}`);
            }
          }
          await pollUntilDone(n, taskId);
        }
        await sleep(THINK_MS);
      }
    };

    const malformedClient = async (): Promise<void> => {
      for (let i = 0; !loadDone(); i += 1) {
        const kind = MALFORMED[i % MALFORMED.length]!;
        let response: Response | undefined;
        // The gateway may die under the request; the other one must answer it the same way.
        for (let attempt = 0; !response && attempt < 3; attempt += 1) response = await call(...kind.send(gatewayAt(i + attempt)));
        if (!response) continue;
        figures.malformed_sent += 1;
        const body = (await response.json().catch(() => undefined)) as { error?: { code?: unknown; message?: unknown } } | undefined;
        if (response.status >= 400 && response.status < 500 && typeof body?.error?.code === 'string' && typeof body.error.message === 'string')
          figures.malformed_4xx += 1;
        else problems.push(`malformed "${kind.name}": ${response.status} ${JSON.stringify(body)}`);
        await sleep(MALFORMED_EVERY_MS);
      }
    };

    /** Wait until BETWEEN_FAULTS more tasks were accepted since the last fault. */
    const flowing = async (what: string): Promise<void> => {
      const mark = accepted.size;
      await until(`${what}: ${BETWEEN_FAULTS} tasks accepted`, () => accepted.size >= mark + BETWEEN_FAULTS);
    };

    const faults = async (): Promise<void> => {
      // 1. SIGKILL workers at random moments, each while it runs tasks; each gets a replacement,
      //    started at once (the next kill may find only the other worker up, or wait for one).
      await flowing('load started');
      const replacements: Promise<void>[] = [];
      try {
        for (let k = 0; k < WORKER_SIGKILLS; k += 1) {
          await sleep(200 + Math.random() * 800);
          const victim = await workerMidTask();
          workers[victim.slot] = undefined;
          await victim.worker.process.stop('SIGKILL');
          figures.worker_sigkills += 1;
          workerKills.push({ at_s: Math.round((Date.now() - started) / 100) / 10, in_flight: victim.inFlight });
          replacements.push(
            startWorker().then((worker) => {
              workers[victim.slot] = worker;
              figures.worker_restarts += 1;
            }),
          );
        }
      } finally {
        // The stack stops only the processes that got ready: never leave one starting behind us.
        await Promise.allSettled(replacements);
      }
      await Promise.all(replacements);

      // 2. SIGKILL a gateway; clients fail over to the other; a new one starts on the same DATA_DIR.
      await flowing('workers replaced');
      const doomed = gateways[0]!;
      await doomed.stop('SIGKILL');
      figures.gateway_sigkills += 1;
      gateways[0] = await stack!.gateway();
      everyGateway.push(gateways[0]);
      figures.gateway_restarts += 1;

      // 3. SIGTERM a worker mid-task: it stops taking tasks, finishes or requeues its own within the grace period.
      await flowing('gateway replaced');
      const leaving = await workerMidTask();
      workers[leaving.slot] = undefined;
      const termAt = Date.now();
      const code = await leaving.worker.process.stop('SIGTERM');
      if (code !== 0) problems.push(`SIGTERM: worker exited ${code}`);
      if (Date.now() - termAt > SHUTDOWN_GRACE_MS + 5_000) problems.push(`SIGTERM: worker took ${Date.now() - termAt} ms`);
      figures.worker_sigterms += 1;
      workers[leaving.slot] = await startWorker();
      figures.worker_restarts += 1;

      // 4. Stop the broker (gracefully, as an operator or a rolling upgrade would) and start it again
      //    on the same data, twice; every process reconnects by itself.
      for (let r = 0; r < BROKER_RESTARTS; r += 1) {
        await flowing(r === 0 ? 'worker replaced' : 'broker back');
        await Promise.all(
          Array.from({ length: BACKLOG_TASKS }, async (_, i) => {
            const item = `backlog ${r} task ${i}`;
            const response = await call(`${gatewayAt(i)}/uploader`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ item_a: item, sleep_ms: BACKLOG_SLEEP_MS }),
            });
            if (response?.status === 202) accepted.set(((await response.json()) as { task_id: string }).task_id, item);
            else problems.push(`backlog submit ${item}: ${response?.status} ${await response?.text()}`);
          }),
        );
        const ours = [...live(), ...liveWorkers().map((w) => w.process)];
        const readyBefore = ours.map(readyLines);
        const [open] = storeRows<{ open: number; running: number }>(
          `SELECT count(*) AS open, count(*) FILTER (WHERE status = 'STARTED') AS running FROM tasks WHERE status IN ('PENDING', 'STARTED', 'RETRY')`,
        );
        const outage: Outage = { from: Date.now(), stoppedAt: Infinity, bootedAt: Infinity, to: Infinity, ...open! };
        outages.push(outage);
        await node!.stop();
        node = undefined;
        outage.stoppedAt = Date.now();
        // Not through call(): these are the test's own probes, not the clients' answers.
        for (const g of live()) {
          const ready = await fetch(`${g.url}/health/ready`).catch(() => undefined);
          if (ready?.status !== 503) problems.push(`outage ${r + 1}: ${g.url}/health/ready answered ${ready?.status} with the broker down`);
        }
        node = await boot();
        outage.bootedAt = Date.now();
        await until(`outage ${r + 1}: every process reconnected`, () => ours.every((p, k) => readyLines(p) > readyBefore[k]!));
        outage.to = Date.now();
        figures.broker_restarts += 1;
        for (const g of live()) {
          const ready = await fetch(`${g.url}/health/ready`).catch(() => undefined);
          if (ready?.status !== 200) problems.push(`outage ${r + 1}: ${g.url}/health/ready answered ${ready?.status} after reconnecting`);
        }
      }
      faultsDone = true;
      faultsDoneAt = Date.now();
      acceptedAtFaultsDone = accepted.size;
    };

    faultRun = faults();
    // If a fault step throws, stop the load at once rather than at its deadline.
    faultRun.catch(() => (faultsDone = true));
    try {
      await Promise.all([...Array.from({ length: CLIENTS }, (_, n) => client(n)), malformedClient()]);
    } catch (err) {
      // A client found a hang: stop the rest, and the faults, before failing.
      abandoned = true;
      await faultRun.catch(() => {});
      throw err;
    }
    const loadEndedAt = Date.now();
    await faultRun;

    // Every row the store holds ends terminal (bounded): the accepted tasks, and whatever a kill or
    // an outage left — a submit refused 503 is FAILURE not_accepted, a row the killed gateway never
    // saw confirmed is published by the sweeper and runs.
    interface Row {
      id: string;
      status: string;
      error_code: string | null;
      input: string;
      result: string | null;
      attempt: number;
    }
    const rows = async (): Promise<Row[]> =>
      storeRows<Row>('SELECT id, status, error_code, input, r.result, attempt FROM tasks LEFT JOIN task_results r ON r.task_id = tasks.id');
    const TERMINAL = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);
    const settleDeadline = Date.now() + 30_000;
    let all = await rows();
    while (all.some((row) => !TERMINAL.has(row.status) || (accepted.has(row.id) && row.status !== 'SUCCESS')) && Date.now() < settleDeadline) {
      await sleep(250);
      all = await rows();
    }
    const byId = new Map(all.map((row) => [row.id, row]));
    const itemOf = (row: Row): string => String((JSON.parse(row.input) as { fields: { item_a: unknown } }).fields.item_a);

    // Accepted: SUCCESS, with its own item as the result.
    const lost: string[] = [];
    for (const [id, item] of accepted) {
      const row = byId.get(id);
      const result = row?.result ? (JSON.parse(row.result) as { fields?: { item_a?: unknown } }) : undefined;
      if (row?.status !== 'SUCCESS' || result?.fields?.item_a !== item) {
        lost.push(
          `${id} (${item}${resent.has(item) ? ', a keyed submit answered only when sent again' : ''}): ${row ? `${row.status} ${row.error_code ?? ''} ${row.result ?? ''}` : 'no row'}`,
        );
      }
    }
    // Not accepted (refused, or the answer lost to a kill): terminal all the same, never stuck.
    const unacceptedRows = all.filter((row) => !accepted.has(row.id));
    const stuck = unacceptedRows
      .filter((row) => !(row.status === 'SUCCESS' || (row.status === 'FAILURE' && row.error_code === 'not_accepted')))
      .map((row) => `${row.id} (${itemOf(row)}): ${row.status} ${row.error_code ?? ''}`);

    // Every live gateway tells the same: SUCCESS, with the same finish time.
    const ids = [...accepted.keys()].filter((id) => byId.get(id)?.status === 'SUCCESS');
    const disagreements: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let id = ids.pop(); id; id = ids.pop()) {
          const documents = await Promise.all(
            live().map(async (g) => (await call(`${g.url}/task_status/${id}`))?.json() as Promise<{ status: string; finished_at: string | null } | undefined>),
          );
          const views = documents.map((d) => `${d?.status}@${d?.finished_at}`);
          if (!documents.every((d) => d?.status === 'SUCCESS') || new Set(views).size !== 1) disagreements.push(`${id}: ${views.join(' / ')}`);
        }
      }),
    );

    // No two live tasks for one request: keyed retries carry the same item, unkeyed items are unique.
    const byItem = new Map<string, number>();
    for (const row of all) if (row.error_code !== 'not_accepted') byItem.set(itemOf(row), (byItem.get(itemOf(row)) ?? 0) + 1);
    const twice = [...byItem].filter(([, count]) => count > 1);
    figures.duplicates += twice.length;

    // 503 is fair only for a request answered after a stop began and sent before every process was back.
    const fair = (r: { sentAt: number; answeredAt: number }): boolean => outages.some((o) => r.answeredAt >= o.from && r.sentAt <= o.to + REFUSAL_SLACK_MS);
    const unfairRefusals = refusals.filter((r) => !fair(r)).map((r) => `503 sent at +${r.sentAt - started} ms, answered at +${r.answeredAt - started} ms`);
    const refusedIn = (o: Outage): number => refusals.filter((r) => r.answeredAt >= o.from && r.sentAt <= o.to + REFUSAL_SLACK_MS).length;

    const status5xx = [...statuses].filter(([code]) => code >= 500 && code !== 503).reduce((sum, [, count]) => sum + count, 0);
    const seconds = (ms: number): number => Math.round(ms / 100) / 10;
    const report = {
      accepted: accepted.size,
      lost: lost.length,
      duplicates: figures.duplicates,
      kills: { worker_sigkill: figures.worker_sigkills, gateway_sigkill: figures.gateway_sigkills, worker_sigterm: figures.worker_sigterms },
      restarts: { workers: figures.worker_restarts, gateways: figures.gateway_restarts, broker: figures.broker_restarts },
      worker_kills: workerKills,
      // Accepted tasks that ran more than once (a kill or an outage took them mid-run): recorded once all the same.
      redelivered: all.filter((row) => accepted.has(row.id) && row.attempt > 1).length,
      outages: outages.map((o) => ({
        at_s: seconds(o.from - started),
        open_tasks: o.open,
        running_tasks: o.running,
        stop_s: seconds(o.stoppedAt - o.from),
        boot_s: seconds(o.bootedAt - o.stoppedAt),
        reconnect_s: seconds(o.to - o.bootedAt),
        status_503: refusedIn(o),
      })),
      malformed_sent: figures.malformed_sent,
      malformed_4xx: figures.malformed_4xx,
      status_5xx: status5xx,
      status_503: statuses.get(503) ?? 0,
      unanswered,
      submits,
      // Rows whose submit was refused (the broker did not confirm) or whose answer a kill lost.
      not_accepted_rows: unacceptedRows.filter((row) => row.error_code === 'not_accepted').length,
      unanswered_rows_succeeded: unacceptedRows.filter((row) => row.status === 'SUCCESS').length,
      // Rows the killed gateway inserted but never saw confirmed, published by a gateway's task sweeper.
      orphans_published: everyGateway.flatMap((g) => g.logs).filter((line) => String(line.msg).startsWith('task found PENDING without a confirmed message'))
        .length,
      accepted_after_faults: accepted.size - acceptedAtFaultsDone,
      load_seconds: seconds(loadEndedAt - started),
      seconds: seconds(Date.now() - started),
    };
    console.log(JSON.stringify({ faults: report }));

    expect(problems).toEqual([]);
    expect(lost).toEqual([]);
    expect(stuck).toEqual([]);
    expect(disagreements).toEqual([]);
    expect(twice).toEqual([]);
    expect(unfairRefusals).toEqual([]);
    expect(report).toMatchObject({
      lost: 0,
      duplicates: 0,
      status_5xx: 0,
      kills: { worker_sigkill: WORKER_SIGKILLS, gateway_sigkill: 1, worker_sigterm: 1 },
      restarts: { workers: WORKER_SIGKILLS + 1, gateways: 1, broker: BROKER_RESTARTS },
    });
    // Each outage struck tasks in progress, and was felt: clients were refused while the broker was down.
    for (const outage of report.outages) {
      expect(outage.open_tasks).toBeGreaterThanOrEqual(BACKLOG_TASKS / 2);
      expect(outage.status_503).toBeGreaterThan(0);
    }
    expect(report.malformed_4xx).toBe(report.malformed_sent);
    expect(report.malformed_sent).toBeGreaterThanOrEqual(MALFORMED.length);
    // Every fault struck while the clients were still submitting.
    expect(faultsDoneAt).toBeLessThan(loadEndedAt);
    expect(report.accepted_after_faults).toBeGreaterThanOrEqual(1);
    expect(live()).toHaveLength(2);
    expect(liveWorkers()).toHaveLength(2);
  }, 150_000);
});

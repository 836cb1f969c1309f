import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { admin, createTestSchema, type TestSchema } from '../support/postgres.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { startSteadyLoad } from '../support/steady-load.js';
import { testStack } from '../support/stack.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { fillDisk, mountSmallDisk } from '../support/tmpfs.js';

/**
 * Store outages under steady load, end to end: two gateways and two workers on a PostgreSQL store
 * reached through a TCP proxy of this test's own (the machine's PostgreSQL is never touched), which
 * cuts every connection for 10 s, freezes them for 10 s, and freezes them again and then abandons
 * them (they never answer again); and a gateway whose SQLite store's disk (a tmpfs of our own)
 * fills up and is freed. Through all of it no process exits, every answer is a 2xx or a 503/507
 * with Retry-After, and afterwards every accepted task is SUCCESS with its own result, recorded
 * once.
 */
const FAULT_MS = 10_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
}, 60_000);

const alive = (p: WarrenProcess): boolean => p.child.exitCode === null && p.child.signalCode === null;

/** The sum of a counter over the gateways' /metrics. */
async function finishedCount(gateways: readonly Gateway[]): Promise<number> {
  let total = 0;
  for (const gateway of gateways) {
    const text = await (await fetch(gateway.url.replace(/\/prediction$/, '/metrics'))).text();
    for (const match of text.matchAll(/^warren_tasks_finished_total\{[^}]*\} (\d+)$/gm)) total += Number(match[1]);
  }
  return total;
}

const TERMINAL = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

/**
 * Wait until every task in the store is terminal and every accepted one SUCCESS, then say what is
 * wrong. A row the client never heard accepted (the store went while its insert committed, unheard)
 * is the task sweeper's: it publishes the row after TASK_SWEEP_GRACE_MS, and it must end terminal too.
 */
interface Row {
  id: string;
  status: string;
  error_code: string | null;
  result: string | null;
}

/** Tasks whose terminal state a recorder (or the dead-letter watch, or the stall check) applied: all but those never accepted. */
const throughEvents = (rows: readonly Row[]): number => rows.filter((row) => row.error_code !== 'not_accepted').length;

async function verdict(accepted: Map<string, string>, rows: () => Promise<Row[]>): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  let all = await rows();
  while (all.some((row) => !TERMINAL.has(row.status) || (accepted.has(row.id) && row.status !== 'SUCCESS')) && Date.now() < deadline) {
    await sleep(250);
    all = await rows();
  }
  const byId = new Map(all.map((row) => [row.id, row]));
  const wrong: string[] = [];
  for (const [id, item] of accepted) {
    const row = byId.get(id);
    const result = row?.result ? (JSON.parse(row.result) as { fields?: { item_a?: unknown } }) : undefined;
    if (row?.status !== 'SUCCESS' || result?.fields?.item_a !== item) wrong.push(`${id} (${item}): ${row ? `${row.status} ${row.result ?? ''}` : 'no row'}`);
  }
  const unfinished = all.filter((row) => !TERMINAL.has(row.status));
  for (const row of unfinished) wrong.push(`${row.id} still ${row.status}`);
  return wrong;
}

describe('a PostgreSQL store that is cut, frozen and abandoned under load', () => {
  it('keeps every process up, answers only 2xx or 503 with Retry-After, and finishes every accepted task once', async () => {
    const schema: TestSchema = await createTestSchema();
    cleanups.push(() => schema.drop());
    const proxy: TcpProxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
    cleanups.push(() => proxy.close());
    const storeUrl = schema.url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`);
    const stack = testStack('store-outage', { STORE_URL: storeUrl, STORE_TIMEOUT_MS: '2000', WORKER_CONCURRENCY: '8', TASK_SWEEP_GRACE_MS: '5000' });
    cleanups.push(() => stack.stop());
    const gateways = await Promise.all([stack.gateway(), stack.gateway()]);
    const workers = await Promise.all([stack.worker(), stack.worker()]);

    const load = startSteadyLoad({ gateways: () => gateways.map((g) => g.url), clients: 6 });
    const figures: Record<string, number> = {};
    try {
      await load.flowing(30);
      proxy.cut();
      await sleep(FAULT_MS);
      proxy.restore();
      await load.flowing(30);
      figures.after_cut = load.accepted.size;
      proxy.freeze();
      await sleep(FAULT_MS);
      proxy.thaw();
      await load.flowing(30);
      figures.after_freeze = load.accepted.size;
      proxy.freeze();
      await sleep(FAULT_MS / 2);
      proxy.abandon();
      await load.flowing(30);
    } finally {
      await load.stop();
    }

    const rows = (): Promise<Row[]> =>
      admin(`SELECT t.id, t.status, t.error_code, r.result FROM ${schema.name}.tasks t LEFT JOIN ${schema.name}.task_results r ON r.task_id = t.id`);
    const wrong = await verdict(load.accepted, rows);
    const all = await rows();
    const terminal = throughEvents(all);
    const recorded = await finishedCount(gateways);
    // Rows of submits answered 503 that the store had taken all the same: not_accepted, or run by the task sweeper.
    const unaccepted = all.filter((row) => !load.accepted.has(row.id)).map((row) => row.error_code ?? row.status);
    console.log(
      JSON.stringify({
        store_outage_postgres: { accepted: load.accepted.size, answers: Object.fromEntries(load.answers), rows: all.length, unaccepted, recorded, ...figures },
      }),
    );

    expect(load.problems).toEqual([]);
    expect(wrong).toEqual([]);
    expect([...gateways, ...workers].filter((p) => !alive(p)).map((p) => p.child.pid)).toEqual([]);
    // Each task's terminal state was applied once, by one recorder of the two.
    expect(recorded).toBe(terminal);
    expect(load.answers.get(503) ?? 0).toBeGreaterThan(0);
  }, 150_000);
});

const disk = mountSmallDisk('disk-full', 64 * 1024 * 1024);
const diskDir = disk?.dir ?? '';

describe.skipIf(!disk)('a disk that fills up under load', () => {
  it('answers 507 or 503 with Retry-After while the disk is full, and finishes every accepted task once it is freed', async () => {
    // The stack's DATA_DIR stays where it is (testStack removes it); the store lives on the small disk.
    const stack = testStack('disk-full', { STORE_URL: `sqlite:${path.join(diskDir, 'warren.db')}` });
    cleanups.push(async () => {
      await stack.stop();
      disk!.unmount();
    });
    const gateway = await stack.gateway();
    const worker = await stack.worker();
    const load = startSteadyLoad({ gateways: () => [gateway.url], clients: 4, refusals: [503, 507] });
    const filler = path.join(diskDir, 'filler');
    try {
      await load.flowing(30);
      fillDisk(filler);
      const before = load.answers.get(507) ?? 0;
      // Full until submits have been refused for a while (the WAL may take a few more first).
      const deadline = Date.now() + 20_000;
      while ((load.answers.get(507) ?? 0) < before + 20 && Date.now() < deadline) await sleep(100);
      await sleep(2_000);
      fs.rmSync(filler);
      await load.flowing(30);
    } finally {
      await load.stop();
    }

    const Database = (await import('better-sqlite3')).default;
    const rows = async (): Promise<Row[]> => {
      const db = new Database(path.join(diskDir, 'warren.db'), { readonly: true, fileMustExist: true });
      try {
        return db.prepare('SELECT t.id, t.status, t.error_code, r.result FROM tasks t LEFT JOIN task_results r ON r.task_id = t.id').all() as Row[];
      } finally {
        db.close();
      }
    };
    const wrong = await verdict(load.accepted, rows);
    const recorded = await finishedCount([gateway]);
    console.log(JSON.stringify({ store_outage_disk_full: { accepted: load.accepted.size, answers: Object.fromEntries(load.answers), recorded } }));

    expect(load.problems).toEqual([]);
    expect(wrong).toEqual([]);
    expect(load.answers.get(507) ?? 0).toBeGreaterThan(0);
    expect(alive(gateway) && alive(worker)).toBe(true);
    expect(recorded).toBe(throughEvents(await rows()));
  }, 120_000);
});

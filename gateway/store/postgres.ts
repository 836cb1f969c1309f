import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { connectionOptions, migrateOnce } from './postgres-connection.js';
import { inTransaction } from './postgres-transaction.js';
import { text, writeRows } from './postgres-writes.js';
import { PostgresDeliveryStore } from './postgres-deliveries.js';
import { applyEventToRow, onlyFirstFinish, TASK_COLUMNS, toRecord, toRecordWithInput, zeroCounts, type TaskRow, type TaskRowWithInput } from './rows.js';
import type { ApplyOutcome, InsertOutcome, NewTask, TaskCounts, TaskQuery, TaskRecord, TaskStore, TaskWithInput } from './types.js';
import { redactUrl, WarrenError, type Logger, type TaskError, type TaskEvent, type TaskInput, type TaskStatus } from '../../shared/index.js';

export interface PostgresStoreOptions {
  /** Connections this process may hold (STORE_POOL_SIZE). */
  poolSize: number;
  /** Longest wait for a connection or an answer (STORE_TIMEOUT_MS). */
  timeoutMs: number;
  logger?: Logger | undefined;
}

/**
 * The statements run per task or per recorder batch are named, so each connection parses and plans
 * them once (node-pg prepares a named statement on its first use on a connection). Behind
 * PgBouncer in transaction mode this needs its prepared-statement support (1.21+).
 *
 * The store for several gateways: one PostgreSQL database shared by all of them. Every gateway's
 * recorder competes for the results queue; row locks (taken in id order) serialise recorders that
 * meet on a task, and reduceTask makes whichever comes second a no-op where it must be.
 */
export class PostgresTaskStore implements TaskStore {
  readonly deliveries: PostgresDeliveryStore;
  private closing: Promise<void> | undefined;

  private constructor(private readonly pool: pg.Pool) {
    this.deliveries = new PostgresDeliveryStore(pool);
  }

  /** Connect and migrate; a store that cannot do both is not opened (and holds no connections). */
  static async open(url: string, { poolSize, timeoutMs, logger }: PostgresStoreOptions): Promise<PostgresTaskStore> {
    try {
      await migrateOnce(url, timeoutMs);
    } catch (err) {
      throw new WarrenError('store_unavailable', `cannot open the PostgreSQL store at ${redactUrl(url)}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    const pool = new pg.Pool({ ...connectionOptions(url, timeoutMs), max: poolSize });
    // An idle connection the server dropped (restart, failover) only leaves the pool; queries fail
    // on their own. Without a listener the error would end the process.
    pool.on('error', (err) => logger?.warn({ err: { message: err.message } }, 'an idle PostgreSQL connection failed'));
    // pg-pool listens for errors only on idle clients: one that breaks while checked out (mid
    // transaction) would emit 'error' with no listener and end the process. Its query rejects
    // anyway, and the connection is destroyed when it is released with that error.
    pool.on('connect', (client) => client.on('error', (err) => logger?.warn({ err: { message: err.message } }, 'a PostgreSQL connection in use failed')));
    return new PostgresTaskStore(pool);
  }

  /**
   * One statement writes the task, its delivery targets and (with an Idempotency-Key) the key's
   * claim, so a task never exists without the targets it was submitted with. Racing submits with
   * one key meet on the key's unique index: one inserts, the others wait for its commit and then
   * find it. An expired key is taken over. Concurrent commits share WAL flushes in PostgreSQL
   * itself, so there is no batching here as in the SQLite store.
   */
  async insertPending(task: NewTask): Promise<InsertOutcome> {
    const targets = task.targets ?? [];
    const values = [
      task.id,
      task.processor,
      JSON.stringify(task.input),
      task.createdAt,
      task.owner ?? null,
      targets.length,
      targets.map((t) => t.targetId),
      targets.map((t) => JSON.stringify(t.target)),
      targets.map(() => randomUUID()),
    ];
    // $10..$12: the idempotency key's claim; without one, the task is inserted unconditionally.
    const insertTask = (source: string): string => `
      task AS (
        INSERT INTO tasks (id, processor, status, attempt, input, created_at, updated_at, owner, delivery_targets)
        SELECT $1, $2, 'PENDING', 0, $3, $4, $4, $5, $6 ${source} RETURNING id
      ), targets AS (
        INSERT INTO deliveries (task_id, target_id, target, state, delivery_id, updated_at)
        SELECT task.id, t.target_id, t.target, 'PENDING', t.delivery_id, $4
        FROM task, unnest($7::text[], $8::text[], $9::text[]) AS t(target_id, target, delivery_id)
      )
      SELECT count(*) AS inserted FROM task`;
    const { idempotency } = task;
    if (!idempotency) {
      await this.pool.query({ name: 'warren-insert-task', text: `WITH ${insertTask('')}`, values });
      return { created: true };
    }
    // The key can vanish between the two statements (markNotAccepted frees it); then claim again.
    for (let tries = 0; tries < 5; tries += 1) {
      const inserted = await this.pool.query<{ inserted: number }>(
        `WITH claim AS (
           INSERT INTO idempotency_keys AS k (key, task_id, fingerprint, expires_at) VALUES ($10, $1, $11, $12)
           ON CONFLICT (key) DO UPDATE SET task_id = EXCLUDED.task_id, fingerprint = EXCLUDED.fingerprint, expires_at = EXCLUDED.expires_at
             WHERE k.expires_at <= $4
           RETURNING 1
         ), ${insertTask('FROM claim')}`,
        [...values, idempotency.key, idempotency.fingerprint, idempotency.expiresAt],
      );
      if (Number(inserted.rows[0]?.inserted) === 1) return { created: true };
      const taken = await this.pool.query<{ task_id: string; fingerprint: string }>(
        'SELECT task_id, fingerprint FROM idempotency_keys WHERE key = $1 AND expires_at > $2',
        [idempotency.key, task.createdAt],
      );
      const row = taken.rows[0];
      if (row) return { created: false, taskId: row.task_id, sameRequest: row.fingerprint === idempotency.fingerprint };
    }
    throw new WarrenError('store_contention', `idempotency key kept changing hands while task ${task.id} was inserted`);
  }

  async markNotAccepted(id: string, error: TaskError, at: number): Promise<boolean> {
    // WHERE status = 'PENDING' is re-checked after any recorder's lock on the row is released;
    // the key is freed only with a row that was marked.
    const { rows } = await this.pool.query<{ marked: string }>(
      `WITH marked AS (
         UPDATE tasks SET status = 'FAILURE', error_code = $2, error_message = $3, finished_at = $4, updated_at = $4, delivery_targets = 0
         WHERE id = $1 AND status = 'PENDING' RETURNING id
       ), freed AS (
         DELETE FROM idempotency_keys WHERE task_id IN (SELECT id FROM marked)
       ), undelivered AS (
         -- Never accepted, so nothing is delivered either (delivery_targets is zeroed by the UPDATE above).
         DELETE FROM deliveries WHERE task_id IN (SELECT id FROM marked)
       )
       SELECT count(*) AS marked FROM marked`,
      [id, text(error.code), text(error.message), at],
    );
    return Number(rows[0]?.marked ?? 0) === 1;
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const { rows } = await this.pool.query<TaskRow>({ name: 'warren-get-task', text: `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1`, values: [id] });
    return rows[0] && toRecord(rows[0]);
  }

  async result(id: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ result: string }>({
      name: 'warren-get-result',
      text: 'SELECT result FROM task_results WHERE task_id = $1',
      values: [id],
    });
    return rows[0]?.result;
  }

  async input(id: string): Promise<TaskInput | undefined> {
    const { rows } = await this.pool.query<{ input: string }>('SELECT input FROM tasks WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : (JSON.parse(rows[0].input) as TaskInput);
  }

  async list({ status, processor, before, after, owner, limit }: TaskQuery): Promise<TaskRecord[]> {
    const values: unknown[] = [];
    const where: string[] = [];
    const param = (value: unknown): string => `$${values.push(value)}`;
    if (status !== undefined) where.push(`status = ${param(status)}`);
    if (processor !== undefined) where.push(`processor = ${param(processor)}`);
    if (before !== undefined) where.push(`created_at < ${param(before)}`);
    // A row comparison, which PostgreSQL walks on the (owner, created_at, id) index.
    if (after !== undefined) where.push(`(created_at, id) < (${param(after.createdAt)}, ${param(after.id)})`);
    if (owner === null) where.push('owner IS NULL');
    else if (owner !== undefined) where.push(`owner = ${param(owner)}`);
    const { rows } = await this.pool.query<TaskRow>(
      `SELECT ${TASK_COLUMNS} FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${param(limit)}`,
      values,
    );
    return rows.map(toRecord);
  }

  async unfinished(status: TaskStatus, updatedBefore: number, limit: number): Promise<TaskRecord[]> {
    const { rows } = await this.pool.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE status = $1 AND updated_at < $2 ORDER BY updated_at LIMIT $3`, [
      status,
      updatedBefore,
      limit,
    ]);
    return rows.map(toRecord);
  }

  async counts(since: readonly number[]): Promise<TaskCounts> {
    const [all, finished] = await Promise.all([
      this.pool.query<{ status: TaskStatus; n: number }>('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status'),
      this.pool.query<{ i: number; status: TaskStatus; n: number }>(
        `SELECT s.i, t.status, COUNT(*) AS n
         FROM unnest($1::bigint[]) WITH ORDINALITY AS s(since, i) JOIN tasks t ON t.finished_at >= s.since
         GROUP BY s.i, t.status`,
        [since],
      ),
    ]);
    const byStatus = zeroCounts();
    for (const row of all.rows) byStatus[row.status] = row.n;
    const finishedSince = since.map(() => zeroCounts());
    for (const row of finished.rows) finishedSince[row.i - 1]![row.status] = row.n;
    return { byStatus, finishedSince };
  }

  /**
   * One transaction per batch. The batch's rows are locked up front, in id order, so two
   * recorders whose batches share tasks wait for each other instead of deadlocking; the events
   * are then applied in memory in their batch order and every changed row written in one UPDATE.
   */
  async expireFinished(finishedBefore: number, limit: number, at: number): Promise<TaskWithInput[]> {
    // SKIP LOCKED: janitors of several gateways take disjoint tasks instead of queueing on each other.
    const { rows } = await this.pool.query<TaskRowWithInput>(
      `WITH picked AS (
         SELECT id FROM tasks WHERE finished_at < $1 AND expired_at IS NULL AND status IN ('SUCCESS', 'FAILURE', 'REVOKED')
         ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), dropped AS (
         DELETE FROM task_results WHERE task_id IN (SELECT id FROM picked)
       )
       UPDATE tasks t SET expired_at = $3, updated_at = $3 FROM picked WHERE t.id = picked.id
       RETURNING t.*`,
      [finishedBefore, limit, at],
    );
    await this.pool.query('DELETE FROM idempotency_keys WHERE expires_at <= $1', [at]);
    return rows.map(toRecordWithInput);
  }

  async markConfirmed(ids: readonly string[], at: number): Promise<void> {
    if (ids.length === 0) return;
    // Rows locked in id order, as applyEvents locks them: a plain UPDATE … = ANY locks in the order
    // it finds rows, and deadlocked with the recorder under load (each retried, adding seconds to p99).
    await this.pool.query({
      name: 'warren-mark-confirmed',
      text: `UPDATE tasks t SET confirmed_at = $1
       FROM (SELECT id FROM tasks WHERE id = ANY($2) AND confirmed_at IS NULL ORDER BY id FOR UPDATE) picked WHERE t.id = picked.id`,
      values: [at, ids],
    });
  }

  async claimUnconfirmed(createdBefore: number, limit: number, at: number): Promise<TaskWithInput[]> {
    const { rows } = await this.pool.query<TaskRowWithInput>(
      `WITH picked AS (
         SELECT id FROM tasks WHERE status = 'PENDING' AND confirmed_at IS NULL AND created_at < $1
         ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       UPDATE tasks t SET confirmed_at = $3 FROM picked WHERE t.id = picked.id RETURNING t.*`,
      [createdBefore, limit, at],
    );
    return rows.map(toRecordWithInput);
  }

  async unclaim(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.pool.query(
      `UPDATE tasks t SET confirmed_at = NULL
       FROM (SELECT id FROM tasks WHERE id = ANY($1) AND status = 'PENDING' ORDER BY id FOR UPDATE) picked WHERE t.id = picked.id`,
      [ids],
    );
  }

  async applyEvents(events: readonly TaskEvent[]): Promise<ApplyOutcome[]> {
    if (events.length === 0) return [];
    return this.transaction(async (client) => {
      const ids = [...new Set(events.map((event) => event.task_id))];
      const locked = await client.query<TaskRow>({
        name: 'warren-lock-tasks',
        text: `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
        values: [ids],
      });
      const rows = new Map(locked.rows.map((row) => [row.id, row]));
      const changed = new Map<string, TaskRow>();
      const results = new Map<string, string>();
      const outcomes = events.map((event) => {
        const change = applyEventToRow(rows.get(event.task_id), event, Date.now());
        if (change.row) {
          rows.set(change.row.id, change.row);
          changed.set(change.row.id, change.row);
        }
        if (change.result !== undefined) results.set(event.task_id, change.result);
        return change.outcome;
      });
      if (changed.size > 0 || results.size > 0) await writeRows(client, [...changed.values()], results);
      return onlyFirstFinish(events, outcomes);
    });
  }

  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }

  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }
}

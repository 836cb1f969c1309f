import pg from 'pg';
import type { TaskError, TaskEvent } from '../contracts.js';
import { WarrenError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { TaskStatus } from '../states.js';
import { migrate } from './postgres-schema.js';
import { PostgresDeliveryStore } from './postgres-deliveries.js';
import { applyEventToRow, toRecord, zeroCounts, type TaskRow } from './rows.js';
import type { ApplyOutcome, InsertOutcome, NewTask, TaskCounts, TaskQuery, TaskRecord, TaskStore } from './types.js';
import { redactUrl } from './url.js';

export interface PostgresStoreOptions {
  /** Connections this process may hold (STORE_POOL_SIZE). */
  poolSize: number;
  logger?: Logger | undefined;
}

/**
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
  static async open(url: string, { poolSize, logger }: PostgresStoreOptions): Promise<PostgresTaskStore> {
    const types = new pg.TypeOverrides();
    // Epoch-ms timestamps and COUNT(*) are BIGINT; both fit a double exactly.
    types.setTypeParser(pg.types.builtins.INT8, Number);
    const pool = new pg.Pool({ connectionString: url, max: poolSize, types, application_name: 'warren', connectionTimeoutMillis: 10_000 });
    // An idle connection the server dropped (restart, failover) only leaves the pool; queries fail
    // on their own. Without a listener the error would end the process.
    pool.on('error', (err) => logger?.warn({ err: { message: err.message } }, 'an idle PostgreSQL connection failed'));
    try {
      const client = await pool.connect();
      try {
        await migrate(client);
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end();
      throw new WarrenError('store_unavailable', `cannot open the PostgreSQL store at ${redactUrl(url)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return new PostgresTaskStore(pool);
  }

  /**
   * The key is claimed by the same statement that inserts the task, so racing submits with one key
   * meet on the key's unique index: one inserts, the others wait for its commit and then find it.
   * An expired key is taken over. Concurrent commits share WAL flushes in PostgreSQL itself, so
   * there is no batching here as in the SQLite store.
   */
  async insertPending(task: NewTask): Promise<InsertOutcome> {
    const input = JSON.stringify(task.input);
    const { idempotency } = task;
    if (!idempotency) {
      await this.pool.query(
        `INSERT INTO tasks (id, processor, status, attempt, input, created_at, updated_at, owner) VALUES ($1, $2, 'PENDING', 0, $3, $4, $4, $5)`,
        [task.id, task.processor, input, task.createdAt, task.owner ?? null],
      );
      return { created: true };
    }
    // The key can vanish between the two statements (markNotAccepted frees it); then claim again.
    for (let tries = 0; tries < 5; tries += 1) {
      const inserted = await this.pool.query(
        `WITH claim AS (
           INSERT INTO idempotency_keys AS k (key, task_id, fingerprint, expires_at) VALUES ($5, $1, $6, $7)
           ON CONFLICT (key) DO UPDATE SET task_id = EXCLUDED.task_id, fingerprint = EXCLUDED.fingerprint, expires_at = EXCLUDED.expires_at
             WHERE k.expires_at <= $4
           RETURNING 1
         )
         INSERT INTO tasks (id, processor, status, attempt, input, created_at, updated_at, owner)
         SELECT $1, $2, 'PENDING', 0, $3, $4, $4, $8 FROM claim`,
        [task.id, task.processor, input, task.createdAt, idempotency.key, idempotency.fingerprint, idempotency.expiresAt, task.owner ?? null],
      );
      if (inserted.rowCount === 1) return { created: true };
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
         UPDATE tasks SET status = 'FAILURE', error_code = $2, error_message = $3, finished_at = $4, updated_at = $4
         WHERE id = $1 AND status = 'PENDING' RETURNING id
       ), freed AS (
         DELETE FROM idempotency_keys WHERE task_id IN (SELECT id FROM marked)
       )
       SELECT count(*) AS marked FROM marked`,
      [id, text(error.code), text(error.message), at],
    );
    return Number(rows[0]?.marked ?? 0) === 1;
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const { rows } = await this.pool.query<TaskRow>('SELECT * FROM tasks WHERE id = $1', [id]);
    return rows[0] && toRecord(rows[0]);
  }

  async list({ status, processor, before, limit }: TaskQuery): Promise<TaskRecord[]> {
    const values: unknown[] = [];
    const where: string[] = [];
    const filter = (sql: string, value: unknown): void => {
      values.push(value);
      where.push(sql.replace('?', `$${values.length}`));
    };
    if (status !== undefined) filter('status = ?', status);
    if (processor !== undefined) filter('processor = ?', processor);
    if (before !== undefined) filter('created_at < ?', before);
    values.push(limit);
    const { rows } = await this.pool.query<TaskRow>(
      `SELECT * FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT $${values.length}`,
      values,
    );
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
  async expireFinished(finishedBefore: number, limit: number, at: number): Promise<TaskRecord[]> {
    // SKIP LOCKED: janitors of several gateways take disjoint tasks instead of queueing on each other.
    const { rows } = await this.pool.query<TaskRow>(
      `WITH picked AS (
         SELECT id FROM tasks WHERE finished_at < $1 AND expired_at IS NULL AND status IN ('SUCCESS', 'FAILURE', 'REVOKED')
         ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       UPDATE tasks t SET expired_at = $3, result = NULL, updated_at = $3 FROM picked WHERE t.id = picked.id
       RETURNING t.*`,
      [finishedBefore, limit, at],
    );
    await this.pool.query('DELETE FROM idempotency_keys WHERE expires_at <= $1', [at]);
    return rows.map(toRecord);
  }

  async markConfirmed(ids: readonly string[], at: number): Promise<void> {
    if (ids.length === 0) return;
    await this.pool.query('UPDATE tasks SET confirmed_at = $1 WHERE id = ANY($2) AND confirmed_at IS NULL', [at, ids]);
  }

  async claimUnconfirmed(createdBefore: number, limit: number, at: number): Promise<TaskRecord[]> {
    const { rows } = await this.pool.query<TaskRow>(
      `WITH picked AS (
         SELECT id FROM tasks WHERE status = 'PENDING' AND confirmed_at IS NULL AND created_at < $1
         ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       UPDATE tasks t SET confirmed_at = $3 FROM picked WHERE t.id = picked.id RETURNING t.*`,
      [createdBefore, limit, at],
    );
    return rows.map(toRecord);
  }

  async unclaim(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.pool.query(`UPDATE tasks SET confirmed_at = NULL WHERE id = ANY($1) AND status = 'PENDING'`, [ids]);
  }

  async applyEvents(events: readonly TaskEvent[]): Promise<ApplyOutcome[]> {
    if (events.length === 0) return [];
    return this.transaction(async (client) => {
      const ids = [...new Set(events.map((event) => event.task_id))];
      const locked = await client.query<TaskRow>('SELECT * FROM tasks WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [ids]);
      const rows = new Map(locked.rows.map((row) => [row.id, row]));
      const changed = new Map<string, TaskRow>();
      const outcomes = events.map((event) => {
        const change = applyEventToRow(rows.get(event.task_id), event, Date.now());
        if (change.row) {
          rows.set(change.row.id, change.row);
          changed.set(change.row.id, change.row);
        }
        return change.outcome;
      });
      if (changed.size > 0) await writeRows(client, [...changed.values()]);
      return outcomes;
    });
  }

  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (err) {
      // A connection whose ROLLBACK fails is in an unknown state: destroy it rather than reuse it.
      await client.query('ROLLBACK').then(
        () => client.release(),
        (rollbackError: Error) => client.release(rollbackError),
      );
      throw err;
    }
  }
}

/** Write rows changed by a batch: one statement, one array per column. */
async function writeRows(client: pg.PoolClient, rows: readonly TaskRow[]): Promise<void> {
  const column = <K extends keyof TaskRow>(key: K): TaskRow[K][] => rows.map((row) => row[key]);
  await client.query(
    `UPDATE tasks AS t SET status = v.status, attempt = v.attempt, progress = v.progress, progress_message = v.progress_message,
       result = v.result, artifacts = v.artifacts, error_code = v.error_code, error_message = v.error_message,
       started_at = v.started_at, finished_at = v.finished_at, updated_at = v.updated_at
     FROM unnest($1::text[], $2::text[], $3::integer[], $4::double precision[], $5::text[], $6::text[], $7::text[],
                 $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[])
       AS v(id, status, attempt, progress, progress_message, result, artifacts, error_code, error_message, started_at, finished_at, updated_at)
     WHERE t.id = v.id`,
    [
      column('id'),
      column('status'),
      column('attempt'),
      column('progress'),
      column('progress_message').map(text),
      column('result'),
      column('artifacts'),
      column('error_code').map(text),
      column('error_message').map(text),
      column('started_at'),
      column('finished_at'),
      column('updated_at'),
    ],
  );
}

/**
 * PostgreSQL text cannot hold NUL, which a worker's error or progress message might contain; it
 * becomes U+FFFD rather than failing (and so endlessly redelivering) the recorder's whole batch.
 * JSON columns need no such care: JSON.stringify escapes NUL.
 */
function text<T extends string | null>(value: T): T {
  return (value === null ? value : value.replaceAll('\u0000', '\uFFFD')) as T;
}

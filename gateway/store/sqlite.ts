import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { applyEventToRow, onlyFirstFinish, TASK_COLUMNS, toRecord, toRecordWithInput, zeroCounts, type TaskRow, type TaskRowWithInput } from './rows.js';
import type { ApplyOutcome, InsertOutcome, NewTask, TaskCounts, TaskQuery, TaskRecord, TaskStore, TaskWithInput } from './types.js';
import { SqliteDeliveryStore } from './sqlite-deliveries.js';
import { migrate } from './sqlite-schema.js';
import { WalSync } from './sqlite-wal-sync.js';
import type { TaskError, TaskEvent, TaskInput, TaskStatus } from '../../shared/index.js';

/**
 * The embedded default store: one SQLite file in WAL mode. Several processes on one machine may
 * share the file (each gateway's recorder takes the write lock per batch; readers never block).
 * better-sqlite3 is synchronous; a batch of events is a single short transaction, so the event
 * loop is held for well under a millisecond per event.
 */
export class SqliteTaskStore implements TaskStore {
  readonly deliveries: SqliteDeliveryStore;
  private readonly db: Database.Database;
  private readonly statements;
  private readonly applyBatch: Database.Transaction<(events: readonly TaskEvent[]) => ApplyOutcome[]>;
  private readonly insertOnce: Database.Transaction<(task: NewTask) => InsertOutcome>;
  private readonly insertBatch: Database.Transaction<(tasks: readonly NewTask[]) => ({ ok: InsertOutcome } | { error: unknown })[]>;
  private readonly wal: WalSync;
  private pendingInserts: { task: NewTask; resolve: (outcome: InsertOutcome) => void; reject: (error: unknown) => void }[] = [];

  constructor(file: string) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL, with the WAL fsynced off the event loop (sqlite-wal-sync.ts): a write something
    // outside relies on (a 202, a broker ack) resolves only once its commit is on disk, even after
    // a power cut, as under FULL, without holding every poll behind each commit's fsync.
    this.db.pragma('synchronous = NORMAL');
    this.wal = new WalSync(file === ':memory:' ? undefined : `${file}-wal`);
    this.db.pragma('busy_timeout = 10000');
    migrate(this.db);
    this.deliveries = new SqliteDeliveryStore(this.db, () => this.wal.sync());

    this.statements = {
      insert: this.db.prepare(
        `INSERT INTO tasks (id, processor, status, attempt, input, created_at, updated_at, owner, delivery_targets)
         VALUES (@id, @processor, 'PENDING', 0, @input, @createdAt, @createdAt, @owner, @deliveryTargets)`,
      ),
      insertTarget: this.db.prepare(`INSERT INTO deliveries (task_id, target_id, target, state, delivery_id, updated_at) VALUES (?, ?, ?, 'PENDING', ?, ?)`),
      get: this.db.prepare<[string], TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`),
      result: this.db.prepare<[string], { result: string }>('SELECT result FROM task_results WHERE task_id = ?'),
      update: this.db.prepare(
        `UPDATE tasks SET status = @status, attempt = @attempt, progress = @progress,
           progress_message = @progress_message, artifacts = @artifacts, error_code = @error_code,
           error_message = @error_message, started_at = @started_at, finished_at = @finished_at,
           updated_at = @updated_at, final_event_id = @final_event_id
         WHERE id = @id`,
      ),
      // A terminal state is applied once, so a task's result is written once.
      writeResult: this.db.prepare('INSERT OR IGNORE INTO task_results (task_id, result) VALUES (?, ?)'),
    };

    this.insertOnce = this.db.transaction((task: NewTask): InsertOutcome => {
      const { idempotency } = task;
      if (idempotency) {
        const taken = this.db
          .prepare<[string, number], { task_id: string; fingerprint: string }>(
            'SELECT task_id, fingerprint FROM idempotency_keys WHERE key = ? AND expires_at > ?',
          )
          .get(idempotency.key, task.createdAt);
        if (taken) return { created: false, taskId: taken.task_id, sameRequest: taken.fingerprint === idempotency.fingerprint };
        this.db
          .prepare('INSERT OR REPLACE INTO idempotency_keys (key, task_id, fingerprint, expires_at) VALUES (?, ?, ?, ?)')
          .run(idempotency.key, task.id, idempotency.fingerprint, idempotency.expiresAt);
      }
      const targets = task.targets ?? [];
      this.statements.insert.run({
        id: task.id,
        processor: task.processor,
        input: JSON.stringify(task.input),
        createdAt: task.createdAt,
        owner: task.owner ?? null,
        deliveryTargets: targets.length,
      });
      for (const { targetId, target } of targets) this.statements.insertTarget.run(task.id, targetId, JSON.stringify(target), randomUUID(), task.createdAt);
      return { created: true };
    });

    // Nested in insertBatch, each insertOnce is a savepoint of its own.
    this.insertBatch = this.db.transaction((tasks: readonly NewTask[]) =>
      tasks.map((task) => {
        try {
          return { ok: this.insertOnce(task) };
        } catch (error) {
          return { error };
        }
      }),
    );

    this.applyBatch = this.db.transaction((events: readonly TaskEvent[]) =>
      onlyFirstFinish(
        events,
        events.map((event) => this.applyOne(event)),
      ),
    );
  }

  /**
   * Group commit: inserts that arrive in the same turn of the event loop share one transaction,
   * and one WAL fsync covers them all (and other commits) instead of one each. Every insert runs in its
   * own savepoint, so one failing insert fails only its own submit.
   */
  insertPending(task: NewTask): Promise<InsertOutcome> {
    return new Promise((resolve, reject) => {
      this.pendingInserts.push({ task, resolve, reject });
      if (this.pendingInserts.length === 1) setImmediate(() => this.flushInserts());
    });
  }

  private flushInserts(): void {
    const batch = this.pendingInserts;
    this.pendingInserts = [];
    let results: ({ ok: InsertOutcome } | { error: unknown })[];
    try {
      results = this.insertBatch.immediate(batch.map((item) => item.task));
    } catch (error) {
      results = batch.map(() => ({ error }));
    }
    results.forEach((result, index) => {
      if ('error' in result) batch[index]!.reject(result.error);
    });
    const inserted = results.flatMap((result, index) => ('ok' in result ? [{ item: batch[index]!, outcome: result.ok }] : []));
    if (inserted.length === 0) return;
    this.wal.sync().then(
      () => inserted.forEach(({ item, outcome }) => item.resolve(outcome)),
      (error: unknown) => inserted.forEach(({ item }) => item.reject(error)),
    );
  }

  // Rare (a publish the broker did not confirm), so its transaction is made when needed.
  async markNotAccepted(id: string, error: TaskError, at: number): Promise<boolean> {
    const marked = this.db.transaction((): boolean => {
      const marked =
        this.db
          .prepare(
            `UPDATE tasks SET status = 'FAILURE', error_code = ?, error_message = ?, finished_at = ?, updated_at = ?
             WHERE id = ? AND status = 'PENDING'`,
          )
          .run(error.code, error.message, at, at, id).changes === 1;
      if (marked) {
        // Never accepted, so nothing is delivered either: its targets go with its key.
        this.db.prepare('DELETE FROM idempotency_keys WHERE task_id = ?').run(id);
        this.db.prepare('DELETE FROM deliveries WHERE task_id = ?').run(id);
        this.db.prepare('UPDATE tasks SET delivery_targets = 0 WHERE id = ?').run(id);
      }
      return marked;
    })();
    await this.wal.sync();
    return marked;
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const row = this.statements.get.get(id);
    return row && toRecord(row);
  }

  async result(id: string): Promise<string | undefined> {
    return this.statements.result.get(id)?.result;
  }

  async input(id: string): Promise<TaskInput | undefined> {
    const row = this.db.prepare<[string], { input: string }>('SELECT input FROM tasks WHERE id = ?').get(id);
    return row === undefined ? undefined : (JSON.parse(row.input) as TaskInput);
  }

  async list({ status, processor, before, after, owner, limit }: TaskQuery): Promise<TaskRecord[]> {
    // Only the conditions asked for, so SQLite picks the index that fits (owner's, or created_at's).
    const where: string[] = [];
    const values: Record<string, string | number> = { limit };
    const param = (name: string, value: string | number): string => {
      values[name] = value;
      return `@${name}`;
    };
    if (status !== undefined) where.push(`status = ${param('status', status)}`);
    if (processor !== undefined) where.push(`processor = ${param('processor', processor)}`);
    if (before !== undefined) where.push(`created_at < ${param('before', before)}`);
    if (after !== undefined) where.push(`(created_at, id) < (${param('afterAt', after.createdAt)}, ${param('afterId', after.id)})`);
    if (owner === null) where.push('owner IS NULL');
    else if (owner !== undefined) where.push(`owner = ${param('owner', owner)}`);
    const rows = this.db
      .prepare<Record<string, string | number>, TaskRow>(
        `SELECT ${TASK_COLUMNS} FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT @limit`,
      )
      .all(values);
    return rows.map(toRecord);
  }

  async unfinished(status: TaskStatus, updatedBefore: number, limit: number): Promise<TaskRecord[]> {
    return this.db
      .prepare<[TaskStatus, number, number], TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE status = ? AND updated_at < ? ORDER BY updated_at LIMIT ?`)
      .all(status, updatedBefore, limit)
      .map(toRecord);
  }

  async counts(since: readonly number[]): Promise<TaskCounts> {
    const byStatus = zeroCounts();
    for (const row of this.db.prepare<[], { status: TaskStatus; n: number }>('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status').all()) {
      byStatus[row.status] = row.n;
    }
    const finished = this.db.prepare<[number], { status: TaskStatus; n: number }>(
      'SELECT status, COUNT(*) AS n FROM tasks WHERE finished_at >= ? GROUP BY status',
    );
    const finishedSince = since.map((from) => {
      const counts = zeroCounts();
      for (const row of finished.all(from)) counts[row.status] = row.n;
      return counts;
    });
    return { byStatus, finishedSince };
  }

  async expireFinished(finishedBefore: number, limit: number, at: number): Promise<TaskWithInput[]> {
    const expired = this.db
      .transaction(() => {
        const rows = this.db
          .prepare<[number, number], TaskRowWithInput>(
            `SELECT ${TASK_COLUMNS}, input FROM tasks WHERE finished_at < ? AND expired_at IS NULL AND status IN ('SUCCESS', 'FAILURE', 'REVOKED')
           ORDER BY finished_at LIMIT ?`,
          )
          .all(finishedBefore, limit);
        const expire = this.db.prepare('UPDATE tasks SET expired_at = ?, updated_at = ? WHERE id = ?');
        const dropResult = this.db.prepare('DELETE FROM task_results WHERE task_id = ?');
        for (const row of rows) {
          expire.run(at, at, row.id);
          dropResult.run(row.id);
        }
        this.db.prepare('DELETE FROM idempotency_keys WHERE expires_at <= ?').run(at);
        return rows.map(toRecordWithInput);
      })
      .immediate();
    await this.wal.sync();
    return expired;
  }

  async markConfirmed(ids: readonly string[], at: number): Promise<void> {
    if (ids.length === 0) return;
    const mark = this.db.prepare('UPDATE tasks SET confirmed_at = ? WHERE id = ? AND confirmed_at IS NULL');
    this.db
      .transaction(() => {
        for (const id of ids) mark.run(at, id);
      })
      .immediate();
    await this.wal.sync();
  }

  async claimUnconfirmed(createdBefore: number, limit: number, at: number): Promise<TaskWithInput[]> {
    const claimed = this.db
      .transaction(() => {
        const rows = this.db
          .prepare<[number, number], TaskRowWithInput>(
            `SELECT ${TASK_COLUMNS}, input FROM tasks WHERE status = 'PENDING' AND confirmed_at IS NULL AND created_at < ? ORDER BY created_at LIMIT ?`,
          )
          .all(createdBefore, limit);
        const claim = this.db.prepare('UPDATE tasks SET confirmed_at = ? WHERE id = ?');
        for (const row of rows) claim.run(at, row.id);
        return rows.map(toRecordWithInput);
      })
      .immediate();
    await this.wal.sync();
    return claimed;
  }

  async unclaim(ids: readonly string[]): Promise<void> {
    const release = this.db.prepare(`UPDATE tasks SET confirmed_at = NULL WHERE id = ? AND status = 'PENDING'`);
    this.db.transaction(() => {
      for (const id of ids) release.run(id);
    })();
    await this.wal.sync();
  }

  async applyEvents(events: readonly TaskEvent[]): Promise<ApplyOutcome[]> {
    if (events.length === 0) return [];
    // IMMEDIATE takes the write lock up front, so two gateways' recorders queue on busy_timeout
    // instead of failing with SQLITE_BUSY at the first write.
    const outcomes = this.applyBatch.immediate(events);
    await this.wal.sync();
    return outcomes;
  }

  async close(): Promise<void> {
    await this.wal.close();
    if (this.db.open) this.db.close();
  }

  private applyOne(event: TaskEvent): ApplyOutcome {
    const change = applyEventToRow(this.statements.get.get(event.task_id), event, Date.now());
    if (change.row) this.statements.update.run(change.row);
    if (change.result !== undefined) this.statements.writeResult.run(event.task_id, change.result);
    return change.outcome;
  }
}

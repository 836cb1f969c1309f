import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { FileRef, TaskError, TaskEvent } from '../contracts.js';
import { TASK_STATUSES, reduceTask, isTerminal, type TaskStatus } from '../states.js';
import type { ApplyOutcome, InsertOutcome, NewTask, TaskCounts, TaskQuery, TaskRecord, TaskStore } from './types.js';
import { DELIVERY_TABLES } from './delivery-rows.js';
import { SqliteDeliveryStore } from './sqlite-deliveries.js';

/**
 * The embedded default store: one SQLite file in WAL mode. Several processes on one machine may
 * share the file (each gateway's recorder takes the write lock per batch; readers never block).
 * better-sqlite3 is synchronous; a batch of events is a single short transaction, so the event
 * loop is held for well under a millisecond per event.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE tasks (
     id               TEXT PRIMARY KEY,
     processor        TEXT NOT NULL,
     status           TEXT NOT NULL,
     attempt          INTEGER NOT NULL DEFAULT 0,
     progress         REAL,
     progress_message TEXT,
     input            TEXT NOT NULL,
     result           TEXT,
     error_code       TEXT,
     error_message    TEXT,
     created_at       INTEGER NOT NULL,
     started_at       INTEGER,
     finished_at      INTEGER,
     updated_at       INTEGER NOT NULL
   );
   CREATE INDEX tasks_created_at ON tasks (created_at);`,
  // Output files a processor wrote (JSON array of FileRef), set with SUCCESS.
  `ALTER TABLE tasks ADD COLUMN artifacts TEXT;`,
  `CREATE TABLE idempotency_keys (
     key         TEXT PRIMARY KEY,
     task_id     TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     expires_at  INTEGER NOT NULL
   );
   CREATE INDEX idempotency_keys_task ON idempotency_keys (task_id);`,
  // The dashboard counts by status and finish time.
  `CREATE INDEX tasks_status ON tasks (status);
   CREATE INDEX tasks_finished_at ON tasks (finished_at);`,
  DELIVERY_TABLES,
];

interface TaskRow {
  id: string;
  processor: string;
  status: TaskStatus;
  attempt: number;
  progress: number | null;
  progress_message: string | null;
  input: string;
  result: string | null;
  artifacts: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

export class SqliteTaskStore implements TaskStore {
  readonly deliveries: SqliteDeliveryStore;
  private readonly db: Database.Database;
  private readonly statements;
  private readonly applyBatch: Database.Transaction<(events: readonly TaskEvent[]) => ApplyOutcome[]>;
  private readonly insertOnce: Database.Transaction<(task: NewTask) => InsertOutcome>;
  private readonly insertBatch: Database.Transaction<(tasks: readonly NewTask[]) => ({ ok: InsertOutcome } | { error: unknown })[]>;
  private pendingInserts: { task: NewTask; resolve: (outcome: InsertOutcome) => void; reject: (error: unknown) => void }[] = [];

  constructor(file: string) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // FULL: a commit the recorder acks is on disk even after a power cut. Batching keeps it cheap.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 10000');
    migrate(this.db);
    this.deliveries = new SqliteDeliveryStore(this.db);

    this.statements = {
      insert: this.db.prepare(
        `INSERT INTO tasks (id, processor, status, attempt, input, created_at, updated_at)
         VALUES (@id, @processor, 'PENDING', 0, @input, @createdAt, @createdAt)`,
      ),
      get: this.db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE id = ?'),
      update: this.db.prepare(
        `UPDATE tasks SET status = @status, attempt = @attempt, progress = @progress,
           progress_message = @progressMessage, result = @result, artifacts = @artifacts, error_code = @errorCode,
           error_message = @errorMessage, started_at = @startedAt, finished_at = @finishedAt,
           updated_at = @updatedAt
         WHERE id = @id`,
      ),
    };

    this.insertOnce = this.db.transaction((task: NewTask): InsertOutcome => {
      const { idempotency } = task;
      if (idempotency) {
        const taken = this.db
          .prepare<[string, number], { task_id: string; fingerprint: string }>('SELECT task_id, fingerprint FROM idempotency_keys WHERE key = ? AND expires_at > ?')
          .get(idempotency.key, task.createdAt);
        if (taken) return { created: false, taskId: taken.task_id, sameRequest: taken.fingerprint === idempotency.fingerprint };
        this.db
          .prepare('INSERT OR REPLACE INTO idempotency_keys (key, task_id, fingerprint, expires_at) VALUES (?, ?, ?, ?)')
          .run(idempotency.key, task.id, idempotency.fingerprint, idempotency.expiresAt);
      }
      this.statements.insert.run({ id: task.id, processor: task.processor, input: JSON.stringify(task.input), createdAt: task.createdAt });
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

    this.applyBatch = this.db.transaction((events: readonly TaskEvent[]) => events.map((event) => this.applyOne(event)));
  }

  /**
   * Group commit: inserts that arrive in the same turn of the event loop share one transaction,
   * so one fsync (synchronous=FULL) covers them all instead of one each. Every insert runs in its
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
      if ('ok' in result) batch[index]!.resolve(result.ok);
      else batch[index]!.reject(result.error);
    });
  }


  async markNotAccepted(id: string, error: TaskError, at: number): Promise<void> {
    this.db.prepare('DELETE FROM idempotency_keys WHERE task_id = ?').run(id);
    this.db
      .prepare(
        `UPDATE tasks SET status = 'FAILURE', error_code = ?, error_message = ?, finished_at = ?, updated_at = ?
         WHERE id = ? AND status = 'PENDING'`,
      )
      .run(error.code, error.message, at, at, id);
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const row = this.statements.get.get(id);
    return row && toRecord(row);
  }

  async list({ status, processor, before, limit }: TaskQuery): Promise<TaskRecord[]> {
    const rows = this.db
      .prepare<{ status: string | null; processor: string | null; before: number | null; limit: number }, TaskRow>(
        `SELECT * FROM tasks
         WHERE (@status IS NULL OR status = @status) AND (@processor IS NULL OR processor = @processor)
           AND (@before IS NULL OR created_at < @before)
         ORDER BY created_at DESC LIMIT @limit`,
      )
      .all({ status: status ?? null, processor: processor ?? null, before: before ?? null, limit });
    return rows.map(toRecord);
  }

  async counts(since: readonly number[]): Promise<TaskCounts> {
    const zero = (): Record<TaskStatus, number> => Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
    const byStatus = zero();
    for (const row of this.db.prepare<[], { status: TaskStatus; n: number }>('SELECT status, COUNT(*) AS n FROM tasks GROUP BY status').all()) {
      byStatus[row.status] = row.n;
    }
    const finished = this.db.prepare<[number], { status: TaskStatus; n: number }>('SELECT status, COUNT(*) AS n FROM tasks WHERE finished_at >= ? GROUP BY status');
    const finishedSince = since.map((from) => {
      const counts = zero();
      for (const row of finished.all(from)) counts[row.status] = row.n;
      return counts;
    });
    return { byStatus, finishedSince };
  }

  async applyEvents(events: readonly TaskEvent[]): Promise<ApplyOutcome[]> {
    if (events.length === 0) return [];
    // IMMEDIATE takes the write lock up front, so two gateways' recorders queue on busy_timeout
    // instead of failing with SQLITE_BUSY at the first write.
    return this.applyBatch.immediate(events);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private applyOne(event: TaskEvent): ApplyOutcome {
    const row = this.statements.get.get(event.task_id);
    if (!row) return { taskId: event.task_id, applied: false, reason: 'unknown_task' };

    const reduction = reduceTask(row, event);
    if (!reduction.apply) return { taskId: event.task_id, applied: false, reason: reduction.reason };

    const at = Date.parse(event.at);
    const terminal = isTerminal(reduction.status);
    // STARTED and SUCCESS clear an earlier attempt's error; RETRY, FAILURE and REVOKED carry theirs.
    const error = event.status === 'STARTED' || event.status === 'SUCCESS' ? null : (event.error ?? rowError(row));
    const written = {
      id: row.id,
      status: reduction.status,
      attempt: reduction.attempt,
      progress: reduction.progress,
      progressMessage: event.message ?? (reduction.isProgressOnly ? row.progress_message : null),
      result: event.status === 'SUCCESS' ? JSON.stringify(event.result ?? null) : row.result,
      artifacts: event.status === 'SUCCESS' ? JSON.stringify(event.artifacts ?? []) : row.artifacts,
      errorCode: error?.code ?? null,
      errorMessage: error?.message ?? null,
      startedAt: row.started_at ?? (event.status === 'STARTED' || terminal ? at : null),
      finishedAt: terminal ? at : null,
      updatedAt: Date.now(),
    };
    this.statements.update.run(written);
    if (!terminal) return { taskId: event.task_id, applied: true };
    // Built from what was just written rather than read back: no second query inside the lock.
    const record = toRecord({
      ...row,
      status: written.status,
      attempt: written.attempt,
      progress: written.progress,
      progress_message: written.progressMessage,
      result: written.result,
      artifacts: written.artifacts,
      error_code: written.errorCode,
      error_message: written.errorMessage,
      started_at: written.startedAt,
      finished_at: written.finishedAt,
      updated_at: written.updatedAt,
    });
    return { taskId: event.task_id, applied: true, record };
  }
}

function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let index = version; index < MIGRATIONS.length; index += 1) db.exec(MIGRATIONS[index]!);
    if (version < MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

function rowError(row: TaskRow): TaskError | null {
  return row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' };
}

function toRecord(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    processor: row.processor,
    status: row.status,
    attempt: row.attempt,
    progress: row.progress,
    progressMessage: row.progress_message,
    input: JSON.parse(row.input) as TaskRecord['input'],
    result: row.result === null ? undefined : (JSON.parse(row.result) as unknown),
    artifacts: row.artifacts === null ? [] : (JSON.parse(row.artifacts) as FileRef[]),
    error: rowError(row),
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
  };
}

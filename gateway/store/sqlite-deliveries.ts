import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { FINISHED, toAttempt, toRecord, type AttemptRow, type DeliveryRow } from './delivery-rows.js';
import type { DeliveryAttempt, DeliveryRecord, DeliveryStore, RedeliverOutcome } from './delivery-types.js';
import type { DeliveryEvent, DeliveryTarget, TaskStatus } from '../../shared/index.js';

export class SqliteDeliveryStore implements DeliveryStore {
  private readonly select;
  private readonly selectOne;

  /** `durable` resolves once what was committed before it was called is on disk (sqlite-wal-sync.ts). */
  constructor(
    private readonly db: Database.Database,
    private readonly durable: () => Promise<void>,
  ) {
    this.select = db.prepare<[string], DeliveryRow>('SELECT * FROM deliveries WHERE task_id = ? ORDER BY target_id');
    this.selectOne = db.prepare<[string, string], DeliveryRow>('SELECT * FROM deliveries WHERE task_id = ? AND target_id = ?');
  }

  async create(taskId: string, targets: readonly { targetId: string; target: DeliveryTarget }[], at: number): Promise<void> {
    const insert = this.db.prepare(`INSERT INTO deliveries (task_id, target_id, target, state, delivery_id, updated_at) VALUES (?, ?, ?, 'PENDING', ?, ?)`);
    this.db.transaction(() => {
      for (const { targetId, target } of targets) insert.run(taskId, targetId, JSON.stringify(target), randomUUID(), at);
      this.db.prepare('UPDATE tasks SET delivery_targets = delivery_targets + ? WHERE id = ?').run(targets.length, taskId);
    })();
    await this.durable();
  }

  async forTask(taskId: string): Promise<DeliveryRecord[]> {
    return this.select.all(taskId).map(toRecord);
  }

  async begin(taskId: string, status: TaskStatus, at: number): Promise<DeliveryRecord[]> {
    // Most tasks name no target: answer those from a read, without a write transaction (an fsync).
    const rows = this.select.all(taskId);
    if (rows.length === 0) return [];
    if (!rows.some((row) => row.state === 'PENDING')) return rows.filter((row) => row.state === 'DELIVERING' && row.enqueued_at === null).map(toRecord);
    const begun = this.db
      .transaction(() => {
        if (status === 'REVOKED') {
          // A revoked task has nothing to deliver; its file targets say why, its webhook says task.revoked.
          this.db
            .prepare(
              `UPDATE deliveries SET state = 'FAILED', last_error_code = 'task_revoked', last_error_message = 'the task was cancelled; nothing is delivered', updated_at = ?
             WHERE task_id = ? AND state = 'PENDING' AND target_id <> 'webhook'`,
            )
            .run(at, taskId);
        }
        this.db.prepare(`UPDATE deliveries SET state = 'DELIVERING', updated_at = ? WHERE task_id = ? AND state = 'PENDING'`).run(at, taskId);
        return this.select
          .all(taskId)
          .filter((row) => row.state === 'DELIVERING' && row.enqueued_at === null)
          .map(toRecord);
      })
      .immediate();
    await this.durable();
    return begun;
  }

  async claimNotice(taskId: string, targetId: string, noticeId: string, until: number, now: number): Promise<boolean> {
    const { changes } = this.db
      .prepare(
        `UPDATE deliveries SET notice_id = ?, notice_until = ?
         WHERE task_id = ? AND target_id = ? AND state = 'PENDING' AND (notice_until IS NULL OR notice_until <= ?)`,
      )
      .run(noticeId, until, taskId, targetId, now);
    return changes === 1;
  }

  async markEnqueued(keys: readonly Pick<DeliveryRecord, 'taskId' | 'targetId' | 'round'>[], at: number): Promise<void> {
    const update = this.db.prepare('UPDATE deliveries SET enqueued_at = ? WHERE task_id = ? AND target_id = ? AND round = ? AND enqueued_at IS NULL');
    this.db.transaction(() => {
      for (const key of keys) update.run(at, key.taskId, key.targetId, key.round);
    })();
    await this.durable();
  }

  async stranded(before: number, limit: number): Promise<string[]> {
    const rows = this.db
      .prepare<[number, number], { task_id: string }>(
        `SELECT DISTINCT d.task_id FROM deliveries d JOIN tasks t ON t.id = d.task_id
         WHERE d.updated_at < ? AND t.status IN ('SUCCESS', 'FAILURE', 'REVOKED')
           AND (d.state = 'PENDING' OR (d.state = 'DELIVERING' AND d.enqueued_at IS NULL))
         LIMIT ?`,
      )
      .all(before, limit);
    return rows.map((row) => row.task_id);
  }

  async apply(events: readonly DeliveryEvent[]): Promise<void> {
    if (events.length === 0) return;
    const insertAttempt = this.db.prepare(
      `INSERT OR IGNORE INTO delivery_attempts (task_id, target_id, round, attempt, event, outcome, at, duration_ms, http_status, error_code, error_message)
       VALUES (@task_id, @target_id, @round, @attempt, @event, @outcome, @at, @duration_ms, @http_status, @error_code, @error_message)`,
    );
    const update = this.db.prepare(
      `UPDATE deliveries SET state = @state, attempts = @attempts, last_error_code = @error_code, last_error_message = @error_message,
         last_http_status = @http_status, location = COALESCE(@location, location), next_attempt_at = @next_attempt_at,
         delivered_at = @delivered_at, updated_at = @updated_at
       WHERE task_id = @task_id AND target_id = @target_id`,
    );
    // A reported notice is no longer on its way: the final one may go.
    const settleNotice = this.db.prepare('UPDATE deliveries SET notice_id = NULL, notice_until = NULL WHERE task_id = ? AND target_id = ? AND notice_id = ?');
    this.db
      .transaction(() => {
        for (const event of events) {
          const at = Date.parse(event.at);
          const fields = {
            task_id: event.task_id,
            target_id: event.target_id,
            round: event.round,
            attempt: event.attempt,
            event: event.event,
            outcome: event.outcome,
            at,
            duration_ms: event.duration_ms,
            http_status: event.http_status ?? null,
            error_code: event.error?.code ?? null,
            error_message: event.error?.message ?? null,
          };
          insertAttempt.run(fields);
          // Only the final notification moves a target's state; started/progress are attempts only.
          if (event.event !== 'completed') {
            settleNotice.run(event.task_id, event.target_id, event.delivery_id);
            continue;
          }
          const row = this.selectOne.get(event.task_id, event.target_id);
          if (!row || row.round !== event.round || FINISHED.has(row.state) || event.attempt < row.attempts) continue;
          update.run({
            ...fields,
            state: event.outcome === 'RETRY' ? 'DELIVERING' : event.outcome,
            attempts: event.attempt,
            location: event.location ?? null,
            next_attempt_at: event.next_attempt_at ? Date.parse(event.next_attempt_at) : null,
            delivered_at: event.outcome === 'DELIVERED' ? at : null,
            updated_at: Date.now(),
          });
        }
      })
      .immediate();
    await this.durable();
  }

  async troubled(limit: number): Promise<DeliveryRecord[]> {
    return this.db
      .prepare<[number], DeliveryRow>(
        `SELECT * FROM deliveries WHERE state = 'FAILED' OR (state = 'DELIVERING' AND last_error_code IS NOT NULL)
         ORDER BY updated_at DESC LIMIT ?`,
      )
      .all(limit)
      .map(toRecord);
  }

  async attempts(taskId: string, targetId: string): Promise<DeliveryAttempt[]> {
    const rows = this.db
      .prepare<[string, string], AttemptRow>('SELECT * FROM delivery_attempts WHERE task_id = ? AND target_id = ? ORDER BY at, round, attempt')
      .all(taskId, targetId);
    return rows.map(toAttempt);
  }

  async redeliver(taskId: string, targetId: string, at: number): Promise<RedeliverOutcome> {
    const outcome = this.db
      .transaction((): RedeliverOutcome => {
        const row = this.selectOne.get(taskId, targetId);
        if (!row) return { ok: false, reason: 'not_found' };
        if (row.state === 'PENDING') return { ok: false, reason: 'task_unfinished' };
        if (!FINISHED.has(row.state)) return { ok: false, reason: 'in_progress' };
        this.db
          .prepare(
            `UPDATE deliveries SET state = 'DELIVERING', round = round + 1, delivery_id = ?, attempts = 0, last_error_code = NULL,
             last_error_message = NULL, last_http_status = NULL, next_attempt_at = NULL, enqueued_at = NULL, delivered_at = NULL, updated_at = ?
           WHERE task_id = ? AND target_id = ?`,
          )
          .run(randomUUID(), at, taskId, targetId);
        return { ok: true, record: toRecord(this.selectOne.get(taskId, targetId)!) };
      })
      .immediate();
    await this.durable();
    return outcome;
  }
}

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { FINISHED, toAttempt, toRecord, type AttemptRow, type DeliveryRow } from './delivery-rows.js';
import type { DeliveryAttempt, DeliveryRecord, DeliveryStore, RedeliverOutcome } from './delivery-types.js';
import { inTransaction } from './postgres-transaction.js';
import type { DeliveryEvent, DeliveryTarget, TaskStatus } from '../../shared/index.js';

/**
 * Delivery state in PostgreSQL: the same tables and rules as SQLite's (gateway/store/delivery-rows.ts).
 * Writers that meet on a target (two recorders, a sweeper, a redeliver) serialise on its row lock.
 */
export class PostgresDeliveryStore implements DeliveryStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(taskId: string, targets: readonly { targetId: string; target: DeliveryTarget }[], at: number): Promise<void> {
    if (targets.length === 0) return;
    // One statement, so the count on the task row and the rows it counts are committed together.
    await this.pool.query(
      `WITH inserted AS (
         INSERT INTO deliveries (task_id, target_id, target, state, delivery_id, updated_at)
         SELECT $1, t.target_id, t.target, 'PENDING', t.delivery_id, $2
         FROM unnest($3::text[], $4::text[], $5::text[]) AS t(target_id, target, delivery_id)
         RETURNING 1
       )
       UPDATE tasks SET delivery_targets = delivery_targets + (SELECT count(*) FROM inserted) WHERE id = $1`,
      [taskId, at, targets.map((t) => t.targetId), targets.map((t) => JSON.stringify(t.target)), targets.map(() => randomUUID())],
    );
  }

  async forTask(taskId: string): Promise<DeliveryRecord[]> {
    const { rows } = await this.pool.query<DeliveryRow>('SELECT * FROM deliveries WHERE task_id = $1 ORDER BY target_id', [taskId]);
    return rows.map(toRecord);
  }

  async begin(taskId: string, status: TaskStatus, at: number): Promise<DeliveryRecord[]> {
    const rows = await this.forTask(taskId);
    if (rows.length === 0) return [];
    if (!rows.some((row) => row.state === 'PENDING')) return rows.filter((row) => row.state === 'DELIVERING' && row.enqueuedAt === null);
    if (status === 'REVOKED') {
      // A revoked task has nothing to deliver; its file targets say why, its webhook says task.revoked.
      await this.pool.query(
        `UPDATE deliveries SET state = 'FAILED', last_error_code = 'task_revoked', last_error_message = 'the task was cancelled; nothing is delivered', updated_at = $1
         WHERE task_id = $2 AND state = 'PENDING' AND target_id <> 'webhook'`,
        [at, taskId],
      );
    }
    await this.pool.query(`UPDATE deliveries SET state = 'DELIVERING', updated_at = $1 WHERE task_id = $2 AND state = 'PENDING'`, [at, taskId]);
    return (await this.forTask(taskId)).filter((row) => row.state === 'DELIVERING' && row.enqueuedAt === null);
  }

  async claimNotice(taskId: string, targetId: string, noticeId: string, until: number, now: number): Promise<boolean> {
    // One statement: it and `begin` serialise on the row, so a notice is claimed before the final
    // begins (and is waited for) or not at all.
    const { rowCount } = await this.pool.query(
      `UPDATE deliveries SET notice_id = $3, notice_until = $4
       WHERE task_id = $1 AND target_id = $2 AND state = 'PENDING' AND (notice_until IS NULL OR notice_until <= $5)`,
      [taskId, targetId, noticeId, until, now],
    );
    return rowCount === 1;
  }

  async markEnqueued(keys: readonly Pick<DeliveryRecord, 'taskId' | 'targetId' | 'round'>[], at: number): Promise<void> {
    if (keys.length === 0) return;
    await this.pool.query(
      `UPDATE deliveries d SET enqueued_at = $1
       FROM unnest($2::text[], $3::text[], $4::int[]) AS k(task_id, target_id, round)
       WHERE d.task_id = k.task_id AND d.target_id = k.target_id AND d.round = k.round AND d.enqueued_at IS NULL`,
      [at, keys.map((k) => k.taskId), keys.map((k) => k.targetId), keys.map((k) => k.round)],
    );
  }

  async stranded(before: number, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ task_id: string }>(
      `SELECT DISTINCT d.task_id FROM deliveries d JOIN tasks t ON t.id = d.task_id
       WHERE d.updated_at < $1 AND t.status IN ('SUCCESS', 'FAILURE', 'REVOKED')
         AND (d.state = 'PENDING' OR (d.state = 'DELIVERING' AND d.enqueued_at IS NULL))
       LIMIT $2`,
      [before, limit],
    );
    return rows.map((row) => row.task_id);
  }

  async apply(events: readonly DeliveryEvent[]): Promise<void> {
    if (events.length === 0) return;
    await inTransaction(this.pool, async (client) => {
      // In key order, so two recorders' batches cannot deadlock on each other's rows.
      const ordered = [...events].sort((a, b) => `${a.task_id}/${a.target_id}`.localeCompare(`${b.task_id}/${b.target_id}`));
      for (const event of ordered) {
        const at = Date.parse(event.at);
        await client.query(
          `INSERT INTO delivery_attempts (task_id, target_id, round, attempt, event, outcome, at, duration_ms, http_status, error_code, error_message)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
          [
            event.task_id,
            event.target_id,
            event.round,
            event.attempt,
            event.event,
            event.outcome,
            at,
            event.duration_ms,
            event.http_status ?? null,
            event.error?.code ?? null,
            event.error?.message ?? null,
          ],
        );
        if (event.event !== 'completed') {
          // A reported notice is no longer on its way: the final one may go.
          await client.query('UPDATE deliveries SET notice_id = NULL, notice_until = NULL WHERE task_id = $1 AND target_id = $2 AND notice_id = $3', [
            event.task_id,
            event.target_id,
            event.delivery_id,
          ]);
          continue;
        }
        const { rows } = await client.query<DeliveryRow>('SELECT * FROM deliveries WHERE task_id = $1 AND target_id = $2 FOR UPDATE', [
          event.task_id,
          event.target_id,
        ]);
        const row = rows[0];
        if (!row || row.round !== event.round || FINISHED.has(row.state) || event.attempt < row.attempts) continue;
        await client.query(
          `UPDATE deliveries SET state = $3, attempts = $4, last_error_code = $5, last_error_message = $6, last_http_status = $7,
             location = COALESCE($8, location), next_attempt_at = $9, delivered_at = $10, updated_at = $11
           WHERE task_id = $1 AND target_id = $2`,
          [
            event.task_id,
            event.target_id,
            event.outcome === 'RETRY' ? 'DELIVERING' : event.outcome,
            event.attempt,
            event.error?.code ?? null,
            event.error?.message ?? null,
            event.http_status ?? null,
            event.location ?? null,
            event.next_attempt_at ? Date.parse(event.next_attempt_at) : null,
            event.outcome === 'DELIVERED' ? at : null,
            Date.now(),
          ],
        );
      }
    });
  }

  async troubled(limit: number): Promise<DeliveryRecord[]> {
    const { rows } = await this.pool.query<DeliveryRow>(
      `SELECT * FROM deliveries WHERE state = 'FAILED' OR (state = 'DELIVERING' AND last_error_code IS NOT NULL) ORDER BY updated_at DESC LIMIT $1`,
      [limit],
    );
    return rows.map(toRecord);
  }

  async attempts(taskId: string, targetId: string): Promise<DeliveryAttempt[]> {
    const { rows } = await this.pool.query<AttemptRow>('SELECT * FROM delivery_attempts WHERE task_id = $1 AND target_id = $2 ORDER BY at, round, attempt', [
      taskId,
      targetId,
    ]);
    return rows.map(toAttempt);
  }

  async redeliver(taskId: string, targetId: string, at: number): Promise<RedeliverOutcome> {
    // One statement: only a finished round starts a new one, so racing redelivers make one round.
    const { rows } = await this.pool.query<DeliveryRow>(
      `UPDATE deliveries SET state = 'DELIVERING', round = round + 1, delivery_id = $3, attempts = 0, last_error_code = NULL,
         last_error_message = NULL, last_http_status = NULL, next_attempt_at = NULL, enqueued_at = NULL, delivered_at = NULL, updated_at = $4
       WHERE task_id = $1 AND target_id = $2 AND state IN ('DELIVERED', 'FAILED')
       RETURNING *`,
      [taskId, targetId, randomUUID(), at],
    );
    if (rows[0]) return { ok: true, record: toRecord(rows[0]) };
    const current = (await this.forTask(taskId)).find((d) => d.targetId === targetId);
    if (!current) return { ok: false, reason: 'not_found' };
    return { ok: false, reason: current.state === 'PENDING' ? 'task_unfinished' : 'in_progress' };
  }
}

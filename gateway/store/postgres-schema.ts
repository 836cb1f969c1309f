import type pg from 'pg';
import { DELIVERY_NOTICE_COLUMNS, DELIVERY_TABLES } from './delivery-rows.js';
import { TASK_DELIVERY_TARGETS_COLUMN, TASK_FINAL_EVENT_COLUMN, TASK_OWNER_COLUMN, TASK_OWNER_INDEX, TASK_RESULTS_TABLE } from './rows.js';

/**
 * The PostgreSQL schema, as numbered migrations. The layout mirrors SQLite's (gateway/store/rows.ts
 * maps both): times are epoch ms in BIGINT, JSON is TEXT so a `null` result stays distinct from
 * no result. Append new migrations; never edit one that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE tasks (
     id               TEXT PRIMARY KEY,
     processor        TEXT NOT NULL,
     status           TEXT NOT NULL,
     attempt          INTEGER NOT NULL DEFAULT 0,
     progress         DOUBLE PRECISION,
     progress_message TEXT,
     input            TEXT NOT NULL,
     result           TEXT,
     artifacts        TEXT,
     error_code       TEXT,
     error_message    TEXT,
     created_at       BIGINT NOT NULL,
     started_at       BIGINT,
     finished_at      BIGINT,
     updated_at       BIGINT NOT NULL
   );
   CREATE INDEX tasks_created_at ON tasks (created_at);
   CREATE INDEX tasks_status ON tasks (status);
   CREATE INDEX tasks_finished_at ON tasks (finished_at);
   CREATE TABLE idempotency_keys (
     key         TEXT PRIMARY KEY,
     task_id     TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     expires_at  BIGINT NOT NULL
   );
   CREATE INDEX idempotency_keys_task ON idempotency_keys (task_id);`,
  DELIVERY_TABLES,
  // Retention: when the janitor expired the task's result and files.
  `ALTER TABLE tasks ADD COLUMN expired_at BIGINT;`,
  // The outbox: when the broker confirmed the task's message; the sweeper republishes the rest.
  `ALTER TABLE tasks ADD COLUMN confirmed_at BIGINT;
   CREATE INDEX tasks_unconfirmed ON tasks (status, confirmed_at, created_at);`,
  TASK_OWNER_COLUMN,
  TASK_DELIVERY_TARGETS_COLUMN,
  TASK_RESULTS_TABLE,
  TASK_FINAL_EVENT_COLUMN,
  DELIVERY_NOTICE_COLUMNS,
  TASK_OWNER_INDEX,
];

/** Any fixed number will do, as long as every warren uses the same one. */
const MIGRATION_LOCK = 0x77617272656e; // "warren"

/**
 * Bring the schema (the first one on the connection's search_path) up to date. Several gateways
 * may start at once: the advisory lock makes the others wait until the first has migrated, and
 * then find nothing to do. A transaction-scoped lock is released by COMMIT or ROLLBACK, so a
 * failed migration cannot leave it held on a pooled connection. DDL is transactional in
 * PostgreSQL, so a failure leaves the schema as it was.
 */
export async function migrate(client: pg.ClientBase): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS warren_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM warren_migrations');
    for (let index = rows[0]?.version ?? 0; index < MIGRATIONS.length; index += 1) {
      await client.query(MIGRATIONS[index]!);
      await client.query('INSERT INTO warren_migrations (version, applied_at) VALUES ($1, $2)', [index + 1, Date.now()]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

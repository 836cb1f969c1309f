import type Database from 'better-sqlite3';
import { DELIVERY_NOTICE_COLUMNS, DELIVERY_TABLES } from './delivery-rows.js';
import { TASK_DELIVERY_TARGETS_COLUMN, TASK_FINAL_EVENT_COLUMN, TASK_OWNER_COLUMN, TASK_OWNER_INDEX, TASK_RESULTS_TABLE } from './rows.js';

/**
 * The SQLite schema, as numbered migrations (its version is the database's user_version). The
 * layout mirrors PostgreSQL's (postgres-schema.ts; rows.ts maps both). Append new migrations;
 * never edit one that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
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
  // Retention: when the janitor expired the task's result and files.
  `ALTER TABLE tasks ADD COLUMN expired_at INTEGER;`,
  // The outbox: when the broker confirmed the task's message; the sweeper republishes the rest.
  `ALTER TABLE tasks ADD COLUMN confirmed_at INTEGER;
   CREATE INDEX tasks_unconfirmed ON tasks (status, confirmed_at, created_at);`,
  TASK_OWNER_COLUMN,
  TASK_DELIVERY_TARGETS_COLUMN,
  TASK_RESULTS_TABLE,
  TASK_FINAL_EVENT_COLUMN,
  DELIVERY_NOTICE_COLUMNS,
  TASK_OWNER_INDEX,
];

export function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let index = version; index < MIGRATIONS.length; index += 1) db.exec(MIGRATIONS[index]!);
    if (version < MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

import type pg from 'pg';
import type { TaskRow } from './rows.js';

/**
 * Write what a recorder batch changed in one statement (one round trip): the task rows, one array
 * per column, and the results of the tasks that finished. A terminal state is applied once, so a
 * task's result is written once (a copy of it meets ON CONFLICT).
 */
export async function writeRows(client: pg.PoolClient, rows: readonly TaskRow[], results: ReadonlyMap<string, string>): Promise<void> {
  const column = <K extends keyof TaskRow>(key: K): TaskRow[K][] => rows.map((row) => row[key]);
  await client.query({
    name: 'warren-write-batch',
    text: `WITH written AS (
     UPDATE tasks AS t SET status = v.status, attempt = v.attempt, progress = v.progress, progress_message = v.progress_message,
       artifacts = v.artifacts, error_code = v.error_code, error_message = v.error_message,
       started_at = v.started_at, finished_at = v.finished_at, updated_at = v.updated_at, final_event_id = v.final_event_id
     FROM unnest($1::text[], $2::text[], $3::integer[], $4::double precision[], $5::text[], $6::text[],
                 $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[])
       AS v(id, status, attempt, progress, progress_message, artifacts, error_code, error_message, started_at, finished_at, updated_at, final_event_id)
     WHERE t.id = v.id
     ), results AS (
       INSERT INTO task_results (task_id, result) SELECT * FROM unnest($13::text[], $14::text[]) ON CONFLICT (task_id) DO NOTHING
     )
     SELECT 1`,
    values: [
      column('id'),
      column('status'),
      column('attempt'),
      column('progress'),
      column('progress_message').map(text),
      column('artifacts'),
      column('error_code').map(text),
      column('error_message').map(text),
      column('started_at'),
      column('finished_at'),
      column('updated_at'),
      column('final_event_id'),
      [...results.keys()],
      [...results.values()],
    ],
  });
}

/**
 * PostgreSQL text cannot hold NUL, which a worker's error or progress message might contain; it
 * becomes U+FFFD rather than failing (and so endlessly redelivering) the recorder's whole batch.
 * JSON columns need no such care: JSON.stringify escapes NUL.
 */
export function text<T extends string | null>(value: T): T {
  return (value === null ? value : value.replaceAll('\u0000', '\uFFFD')) as T;
}

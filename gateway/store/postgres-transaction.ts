import type pg from 'pg';
import { storeFaultOf } from './errors.js';

/**
 * Run `work` in a transaction on a connection of its own. A connection that failed — it broke, or
 * a query on it timed out with the answer still owed — is destroyed, not rolled back and reused:
 * a ROLLBACK on it would wait out the same timeout, and a late answer would confuse the next user.
 * The server rolls back a transaction whose connection is gone.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (err) {
    if (storeFaultOf(err) === 'unavailable') {
      client.release(err instanceof Error ? err : new Error(String(err)));
    } else {
      // A connection whose ROLLBACK fails is in an unknown state: destroy it rather than reuse it.
      await client.query('ROLLBACK').then(
        () => client.release(),
        (rollbackError: Error) => client.release(rollbackError),
      );
    }
    throw err;
  }
}

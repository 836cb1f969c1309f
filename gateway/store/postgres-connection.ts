import pg from 'pg';
import { migrate } from './postgres-schema.js';

/**
 * How warren's connections behave when PostgreSQL or the network misbehaves: no wait longer than
 * the timeout for a connection or an answer (a half-open connection would otherwise hold a
 * recorder batch forever), the server cancels a statement first (statement_timeout, a little
 * shorter, so the connection usually survives), kills a session left idle inside a transaction
 * (a frozen gateway's row locks would block every other recorder), and TCP keepalive notices
 * peers that vanished.
 */
export function connectionOptions(url: string, timeoutMs: number): pg.PoolConfig {
  const types = new pg.TypeOverrides();
  // Epoch-ms timestamps and COUNT(*) are BIGINT; both fit a double exactly.
  types.setTypeParser(pg.types.builtins.INT8, Number);
  return {
    connectionString: url,
    types,
    application_name: 'warren',
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs + 1000,
    statement_timeout: timeoutMs,
    idle_in_transaction_session_timeout: timeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/**
 * Migrations run on a connection of their own without the statement timeout: a long one (a column
 * filled over a big table) must finish. Only a connection that stops answering for minutes fails it.
 */
export async function migrateOnce(url: string, timeoutMs: number): Promise<void> {
  const { statement_timeout: _statement, idle_in_transaction_session_timeout: _idle, ...options } = connectionOptions(url, timeoutMs);
  const client = new pg.Client({ ...options, query_timeout: 10 * 60_000 });
  client.on('error', () => {}); // the awaited calls below reject with it
  await client.connect();
  try {
    await migrate(client);
  } finally {
    await client.end().catch(() => {});
  }
}

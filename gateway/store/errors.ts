import { WarrenError } from '../../shared/index.js';

/**
 * What the store can fail with that is not a bug: the database is unreachable, slow past its
 * timeout, restarting, out of connections or busy (StoreUnavailableError), or its disk is full
 * (StorageFullError). Both are temporary conditions of ours: callers hold work and try again,
 * HTTP answers 503 / 507 with Retry-After. Anything else a store throws stays what it was (a bug,
 * or bad data) and is not retried as if it were an outage.
 */
export class StoreUnavailableError extends WarrenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('store_unavailable', message, options);
  }
}

export class StorageFullError extends WarrenError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('insufficient_storage', message, options);
  }
}

export type StoreFault = 'unavailable' | 'full';

/** Errors of the network and the kernel that mean "the database cannot be reached right now". */
const UNREACHABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  // The disk under the SQLite store failed a write or an fsync (as SQLITE_IOERR does).
  'EIO',
]);
const FULL_ERRNO = new Set(['ENOSPC', 'EDQUOT']);

/**
 * pg reports a lost or hung connection as a plain Error without a code: these are its messages
 * (pg 8: client.js, pg-pool) for a connection that ended, never came, or timed out.
 */
const PG_CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Cannot use a pool after calling end|connection error/i;

/**
 * PostgreSQL SQLSTATE classes and codes that are outages, not mistakes: 08 connection exception,
 * 53 insufficient resources (53100 disk_full is the full disk), 57 operator intervention (admin
 * shutdown, crash recovery, cannot connect now, statement timeout 57014), 58 system errors (I/O),
 * 40001/40P01 serialization failure and deadlock (retry the transaction), 55P03 lock timeout,
 * 25P03 idle-in-transaction timeout (our session was killed after a freeze).
 */
function pgFault(code: string): StoreFault | undefined {
  if (code === '53100') return 'full';
  if (/^(08|53|57|58)/.test(code)) return 'unavailable';
  if (code === '40001' || code === '40P01' || code === '55P03' || code === '25P03') return 'unavailable';
  return undefined;
}

/**
 * SQLite result codes (better-sqlite3's SqliteError.code): FULL is a full disk; BUSY/LOCKED (a
 * writer held the lock past busy_timeout), IOERR_* (the disk failed a read or write), CANTOPEN,
 * NOMEM and PROTOCOL are outages. CONSTRAINT, MISMATCH, TOOBIG and the rest are not.
 */
function sqliteFault(code: string): StoreFault | undefined {
  if (code === 'SQLITE_FULL') return 'full';
  if (/^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|NOMEM|PROTOCOL|READONLY_DBMOVED)/.test(code)) return 'unavailable';
  return undefined;
}

/** Whether `err` is the store being unavailable or full, rather than a bug; undefined for anything else. */
export function storeFaultOf(err: unknown): StoreFault | undefined {
  if (err instanceof StorageFullError) return 'full';
  if (err instanceof StoreUnavailableError) return 'unavailable';
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (FULL_ERRNO.has(code)) return 'full';
    if (UNREACHABLE_ERRNO.has(code)) return 'unavailable';
    if (code.startsWith('SQLITE_')) return sqliteFault(code);
    if (/^[0-9A-Z]{5}$/.test(code)) return pgFault(code);
  }
  if (typeof message === 'string' && PG_CONNECTION_MESSAGES.test(message)) return 'unavailable';
  return undefined;
}

/**
 * The error a store method rejects with: a StoreUnavailableError or StorageFullError for an outage
 * (the driver's message kept for the logs; it never names credentials), the error as it was otherwise.
 */
export function asStoreError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError || err instanceof StorageFullError) return err;
  const fault = storeFaultOf(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (fault === 'full') return new StorageFullError(`the task store's disk is full: ${detail}`, { cause: err });
  if (fault === 'unavailable') return new StoreUnavailableError(`the task store is unavailable: ${detail}`, { cause: err });
  return err;
}

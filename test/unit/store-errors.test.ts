import { describe, expect, it } from 'vitest';
import { StorageFullError, StoreUnavailableError, storeFaultOf } from '../../gateway/store/index.js';
import { asStoreError } from '../../gateway/store/errors.js';
import { guardStore } from '../../gateway/store/guard.js';
import type { TaskStore } from '../../gateway/store/index.js';

/** A driver error as pg or better-sqlite3 shapes it: a message and a code. */
const driverError = (message: string, code?: string): Error => Object.assign(new Error(message), code === undefined ? {} : { code });

describe('store faults', () => {
  it('tells outages and full disks from bugs, whatever the driver', () => {
    // PostgreSQL SQLSTATEs
    expect(storeFaultOf(driverError('could not write to file', '53100'))).toBe('full');
    expect(storeFaultOf(driverError('terminating connection due to administrator command', '57P01'))).toBe('unavailable');
    expect(storeFaultOf(driverError('canceling statement due to statement timeout', '57014'))).toBe('unavailable');
    expect(storeFaultOf(driverError('the database system is starting up', '57P03'))).toBe('unavailable');
    expect(storeFaultOf(driverError('sorry, too many clients already', '53300'))).toBe('unavailable');
    expect(storeFaultOf(driverError('deadlock detected', '40P01'))).toBe('unavailable');
    expect(storeFaultOf(driverError('duplicate key value violates unique constraint', '23505'))).toBeUndefined();
    expect(storeFaultOf(driverError('syntax error at or near "SELEC"', '42601'))).toBeUndefined();
    // pg's own connection errors carry no code
    expect(storeFaultOf(driverError('Connection terminated unexpectedly'))).toBe('unavailable');
    expect(storeFaultOf(driverError('timeout exceeded when trying to connect'))).toBe('unavailable');
    expect(storeFaultOf(driverError('Query read timeout'))).toBe('unavailable');
    // the kernel's
    expect(storeFaultOf(driverError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe('unavailable');
    expect(storeFaultOf(driverError('read ECONNRESET', 'ECONNRESET'))).toBe('unavailable');
    expect(storeFaultOf(driverError('no space left on device', 'ENOSPC'))).toBe('full');
    // SQLite's
    expect(storeFaultOf(driverError('database or disk is full', 'SQLITE_FULL'))).toBe('full');
    expect(storeFaultOf(driverError('database is locked', 'SQLITE_BUSY'))).toBe('unavailable');
    expect(storeFaultOf(driverError('disk I/O error', 'SQLITE_IOERR_WRITE'))).toBe('unavailable');
    expect(storeFaultOf(driverError('UNIQUE constraint failed: tasks.id', 'SQLITE_CONSTRAINT_PRIMARYKEY'))).toBeUndefined();
    // our own bugs
    expect(storeFaultOf(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBeUndefined();
    expect(storeFaultOf('a string')).toBeUndefined();
  });

  it('wraps an outage once, keeping the cause, and leaves other errors as they were', () => {
    const cause = driverError('Connection terminated unexpectedly');
    const wrapped = asStoreError(cause);
    expect(wrapped).toBeInstanceOf(StoreUnavailableError);
    expect((wrapped as StoreUnavailableError).code).toBe('store_unavailable');
    expect((wrapped as Error).cause).toBe(cause);
    expect(asStoreError(wrapped)).toBe(wrapped);
    expect(asStoreError(driverError('full', 'SQLITE_FULL'))).toBeInstanceOf(StorageFullError);
    const bug = new TypeError('bug');
    expect(asStoreError(bug)).toBe(bug);
  });

  it('makes every store method, thrown or rejected, fail with the store error types, and says whether writes fail', async () => {
    let failWith: Error | undefined;
    const fail = (): void => {
      if (failWith) throw failWith;
    };
    // Just what the guard touches: synchronous throws (better-sqlite3) and rejections (pg), on the store and its deliveries.
    const store = {
      get: async () => (fail(), undefined),
      insertPending: () => (fail(), Promise.resolve({ created: true as const })),
      deliveries: { apply: async () => fail() },
    } as unknown as TaskStore;
    const faults: string[] = [];
    const guarded = guardStore(store, (fault) => faults.push(fault));

    expect(guarded.problem()).toBeUndefined();
    failWith = driverError('read ECONNRESET', 'ECONNRESET');
    await expect(guarded.get('x')).rejects.toBeInstanceOf(StoreUnavailableError);
    // A failed read does not make the store unready: only writes do (a full disk still serves reads).
    expect(guarded.problem()).toBeUndefined();
    await expect(guarded.insertPending({ id: 'x', processor: 'echo', input: { fields: {}, files: [] }, createdAt: 0 })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(guarded.problem()).toMatch(/unavailable/);
    failWith = driverError('database or disk is full', 'SQLITE_FULL');
    await expect(guarded.deliveries.apply([])).rejects.toBeInstanceOf(StorageFullError);
    expect(guarded.problem()).toMatch(/full/);
    failWith = new TypeError('a bug');
    await expect(guarded.get('x')).rejects.toBeInstanceOf(TypeError);
    failWith = undefined;
    await guarded.deliveries.apply([]);
    expect(guarded.problem()).toBeUndefined();
    expect(faults).toEqual(['unavailable', 'unavailable', 'full']);
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { WalSync } from '../../gateway/store/sqlite-wal-sync.js';
import { openStore } from '../../gateway/store/index.js';

/** A WAL file of a real database, and a WalSync over it whose fsyncs the test starts and ends. */
function walOfRealDatabase(): { dir: string; file: string; db: Database.Database } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-wal-'));
  const file = path.join(dir, 'warren.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (v TEXT)');
  return { dir, file, db };
}

describe('WalSync', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

  it('covers each caller with an fsync that began after its call, and never runs more than one more than is running', async () => {
    const { dir, file, db } = walOfRealDatabase();
    cleanups.push(() => (db.close(), fs.rmSync(dir, { recursive: true })));
    const started: (() => void)[] = [];
    const wal = new WalSync(`${file}-wal`, async (handle) => {
      await new Promise<void>((resolve) => started.push(resolve)); // held until the test lets it finish
      await handle.datasync();
    });
    const settled: string[] = [];
    const track = (name: string, sync: Promise<void>) => sync.then(() => settled.push(name));

    const first = track('first', wal.sync());
    await new Promise((resolve) => setTimeout(resolve, 20)); // the first fsync is running
    expect(started).toHaveLength(1);
    // Commits after the running fsync began: they need one more, and share it.
    const second = track('second', wal.sync());
    const third = track('third', wal.sync());
    started[0]!();
    await first;
    expect(settled).toEqual(['first']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(started).toHaveLength(2);
    started[1]!();
    await Promise.all([second, third]);
    expect(settled).toEqual(['first', 'second', 'third']);
    expect(started).toHaveLength(2);
    await wal.close();
  });

  it('rejects the callers of an fsync that failed, and the next sync tries again', async () => {
    const { dir, file, db } = walOfRealDatabase();
    cleanups.push(() => (db.close(), fs.rmSync(dir, { recursive: true })));
    let fail = true;
    const wal = new WalSync(`${file}-wal`, async (handle) => {
      if (fail) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      await handle.datasync();
    });
    await expect(wal.sync()).rejects.toMatchObject({ code: 'EIO' });
    fail = false;
    await expect(wal.sync()).resolves.toBeUndefined();
    await wal.close();
  });

  it('is what the SQLite store waits on: it runs synchronous=NORMAL and answers writes after the WAL fsync', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-wal-store-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true }));
    const file = path.join(dir, 'warren.db');
    const store = await openStore(`sqlite:${file}`);
    await store.insertPending({ id: '6f1e2a40-0000-4000-8000-000000000001', processor: 'echo', input: { fields: {}, files: [] }, createdAt: Date.now() });
    expect(new Database(file, { readonly: true }).pragma('journal_mode', { simple: true })).toBe('wal');
    expect((await store.get('6f1e2a40-0000-4000-8000-000000000001'))?.status).toBe('PENDING');
    await store.close();
  });
});

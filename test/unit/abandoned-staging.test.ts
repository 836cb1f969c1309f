import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeAbandonedStaging, STAGING_MAX_AGE_MS } from '../../gateway/uploads/abandoned.js';

describe('abandoned upload staging', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-staging-'));
  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

  it('removes staging directories untouched for longer than a request may take, and keeps the rest', async () => {
    const incoming = path.join(base, 'uploads', '.incoming');
    const old = path.join(incoming, 'left-by-a-killed-gateway');
    const fresh = path.join(incoming, 'being-uploaded');
    for (const dir of [old, fresh]) {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, '0'), 'bytes');
    }
    const longAgo = new Date(Date.now() - STAGING_MAX_AGE_MS - 60_000);
    fs.utimesSync(old, longAgo, longAgo);

    expect(await removeAbandonedStaging(incoming, Date.now() - STAGING_MAX_AGE_MS)).toBe(1);
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(path.join(fresh, '0'))).toBe(true);
  });

  it('is content with no staging directory at all', async () => {
    expect(await removeAbandonedStaging(path.join(base, 'nothing-here'), Date.now())).toBe(0);
  });
});

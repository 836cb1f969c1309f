import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestSchema } from './postgres.js';

/** Where a store specification runs: a fresh SQLite file, or a fresh PostgreSQL schema; `remove` deletes it. */
export interface StoreLocation {
  url: string;
  remove(): Promise<void>;
}

/** Every store implementation, for `describe.each`: what the gateway relies on must not depend on STORE_URL. */
export const STORE_BACKENDS: { name: string; location(): Promise<StoreLocation> }[] = [
  {
    name: 'SQLite',
    async location() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-store-'));
      return { url: `sqlite:${path.join(dir, 'warren.db')}`, remove: async () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    async location() {
      const schema = await createTestSchema();
      return { url: schema.url, remove: schema.drop };
    },
  },
];

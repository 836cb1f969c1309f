import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL on this machine (trust auth); tests isolate themselves in a schema of their own. */
export const TEST_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  name: string;
  /** A STORE_URL whose connections use only this schema (search_path set at connect). */
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty schema `test_<random>`; `drop()` removes it and everything in it. */
export async function createTestSchema(baseUrl = TEST_POSTGRES_URL): Promise<TestSchema> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE SCHEMA ${name}`);
  const separator = baseUrl.includes('?') ? '&' : '?';
  return {
    name,
    url: `${baseUrl}${separator}options=${encodeURIComponent(`-c search_path=${name}`)}`,
    drop: async () => {
      await admin(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    },
  };
}

/** Run one statement on a connection of its own, outside any store. */
export async function admin<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

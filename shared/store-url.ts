import { ConfigError } from './errors.js';
import { userinfoProblem } from './url-secrets.js';

/** The kinds of STORE_URL warren opens, told apart by scheme. One list for the configuration (here) and openStore (gateway/store). */
export type StoreKind = 'sqlite' | 'postgres';

export function storeKind(url: string): StoreKind | undefined {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres';
  return undefined;
}

/** STORE_URL, checked: a kind warren opens and, for PostgreSQL, a URL whose password is written so it can be read. */
export function parseStoreUrl(url: string): string {
  const kind = storeKind(url);
  if (kind === undefined) throw new ConfigError('STORE_URL', 'is not supported; use sqlite:<path>, postgres://… or postgresql://…');
  const problem = kind === 'postgres' ? (userinfoProblem(url) ?? (URL.canParse(url) ? undefined : 'is not a valid URL (check the host and port)')) : undefined;
  if (problem !== undefined) throw new ConfigError('STORE_URL', problem);
  return url;
}

/** The kinds of STORE_URL warren opens, told apart by scheme. One list for config and openStore. */
export type StoreKind = 'sqlite' | 'postgres';

export function storeKind(url: string): StoreKind | undefined {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres';
  return undefined;
}

/** A store URL fit for logs and error messages (one rule for every URL with a password: shared/url-secrets.ts). */
export { redactUrl } from '../url-secrets.js';

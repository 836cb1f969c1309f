/** The kinds of STORE_URL warren opens, told apart by scheme. One list for the configuration (here) and openStore (gateway/store). */
export type StoreKind = 'sqlite' | 'postgres';

export function storeKind(url: string): StoreKind | undefined {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres';
  return undefined;
}

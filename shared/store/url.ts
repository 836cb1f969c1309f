/** The kinds of STORE_URL warren opens, told apart by scheme. One list for config and openStore. */
export type StoreKind = 'sqlite' | 'postgres';

export function storeKind(url: string): StoreKind | undefined {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres';
  return undefined;
}

/**
 * A store URL fit for logs and error messages: a password, in the authority or as a query
 * parameter, is replaced by `***`. Applied to any URL, since an unsupported one may carry one too.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#]*@/i, '$1:***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}

import { ConfigError } from './errors.js';

/**
 * PUBLIC_URL — the address people and clients reach the gateway at, when that is not the one it
 * listens on (behind a reverse proxy): `http(s)://host[:port][/path]`, where the path is where the
 * proxy puts the gateway's root, so routes live at PUBLIC_URL + BASE_PATH. Returned normalised
 * (lower-case scheme and host, no default port, no trailing slash), e.g. `https://ml.example.com`.
 *
 * The value is never echoed in a complaint: someone may have pasted a URL with a password in it.
 */
export function parsePublicUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const refuse = (problem: string): never => {
    throw new ConfigError('PUBLIC_URL', `${problem}; expected http(s)://host[:port][/path], e.g. https://ml.example.com`);
  };
  const parts = /^(https?):\/\/([^/?#]*)((?:\/[^/?#]*)*)$/i.exec(raw);
  if (!parts) {
    if (!/^https?:\/\//i.test(raw)) refuse('must start with http:// or https://');
    refuse('must have no query (?) or fragment (#)');
  }
  const [, , authority, rawPath] = parts!;
  if (authority!.includes('@')) refuse('must not carry a user name or password');
  if (authority === '') refuse('has no host');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('is not a valid URL (host or port)');
  }
  const segments = rawPath!.split('/').filter((segment) => segment !== '');
  // The same characters BASE_PATH takes, and nothing a proxy or browser would rewrite (dot segments, escapes).
  if (!segments.every((segment) => /^[A-Za-z0-9._~-]+$/.test(segment) && segment !== '.' && segment !== '..') || /\/\//.test(rawPath!)) {
    refuse('path must be "/"-separated segments of letters, digits, ".", "_", "~" and "-"');
  }
  return url.origin + segments.map((segment) => `/${segment}`).join('');
}

/**
 * URLs that carry secrets (AMQP_URL, STORE_URL): how to show them in logs and errors without the
 * password, whatever characters it holds. Two rules make that hold:
 *
 * - `userinfoProblem` refuses, at start, a URL whose password holds a raw `/`, `?` or `#`. Every
 *   URL parser ends the host at those, so such a URL parses as a different host, path or fragment
 *   made of pieces of the password — pieces that would then turn up in connection errors
 *   ("getaddrinfo ENOTFOUND …", a vhost the broker names). Percent-encoded they are fine.
 * - `redactUrl` hides everything between `scheme://` + user name and the *last* `@` of the URL,
 *   not the first: a raw `@` or `:` in a password is legal and must not end the redaction early.
 *   If the path or query holds an `@` too, more is hidden than needed, never less.
 */

const SCHEME_AND_REST = /^([a-z][a-z0-9+.-]*:)(\/\/)?(.*)$/is;

/**
 * The URL with its password (and a `password=` query parameter, with everything after it) replaced
 * by `***`; the user name stays, for telling configurations apart. Safe on any string: a value
 * that is not a URL at all is returned without anything that looks like credentials.
 */
export function redactUrl(url: string): string {
  const parts = SCHEME_AND_REST.exec(url);
  if (!parts) return url.includes('@') ? '***' : url;
  const [, scheme, slashes = '', rest = ''] = parts;
  // A file path (sqlite:) has no credentials; an "@" in it is part of a name.
  if (scheme!.toLowerCase() === 'sqlite:') return url;
  // Both rules mark what to hide, and the union is hidden: each alone can be fooled by a password
  // that holds what the other looks for ("@" in a query password, "&password=" in the userinfo).
  const hidden: [number, number][] = [];
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const colon = rest.slice(0, at).indexOf(':');
    const user = colon < 0 ? rest.slice(0, at) : rest.slice(0, colon);
    // A user name with a character that cannot be in one means the split is not what it seems.
    if (!/^[^/?#@\s]*$/.test(user)) hidden.push([0, at]);
    else if (colon >= 0) hidden.push([colon + 1, at]);
  }
  // A password as a query parameter (libpq's ?password=, also sslpassword=), and everything after
  // it: a raw "&" or "#" in it would otherwise leave its tail on show as another parameter.
  const query = /[?&;][^=&#?]*password=/i.exec(rest);
  if (query) hidden.push([query.index + query[0].length, rest.length]);
  return `${scheme}${slashes}${hide(rest, hidden)}`;
}

/** `text` with each of the ranges (merged where they overlap) replaced by `***`. */
function hide(text: string, ranges: [number, number][]): string {
  let shown = '';
  let from = 0;
  for (const [start, end] of ranges.sort((a, b) => a[0] - b[0])) {
    if (start >= from) {
      shown += `${text.slice(from, start)}***`;
      from = end;
    } else {
      from = Math.max(from, end);
    }
  }
  return shown + text.slice(from);
}

/**
 * Why a URL's user name or password cannot be trusted to parse as written — a raw `/`, `?` or `#`
 * in them, or whitespace — or undefined when it is fine. Never quotes the URL.
 */
export function userinfoProblem(url: string): string | undefined {
  if (/\s/.test(url)) return 'holds whitespace; percent-encode it in the user name or password (a space is %20)';
  const rest = /^[a-z][a-z0-9+.-]*:\/\/(.*)$/is.exec(url)?.[1];
  if (rest === undefined) return undefined;
  const authorityEnd = rest.search(/[/?#]/);
  if (authorityEnd >= 0 && rest.slice(authorityEnd).includes('@')) {
    return 'has an "@" after the host; if the user name or password holds "/", "?" or "#", percent-encode them (%2F, %3F, %23)';
  }
  return undefined;
}

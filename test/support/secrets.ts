/**
 * Passwords built to break naive redaction: every character that ends or splits a URL's parts
 * (`@ : / # ? %`, space), non-ASCII, text that already looks percent-encoded, and text that looks
 * like a query's password parameter. None holds a
 * comma, which separates AMQP_URL's failover list. Each starts and ends with a marker of its own
 * (`zqS1a` … `zqS1b`), so a redaction that stops early, or starts late, leaves a marker to find.
 */
const CORES = [
  'p@ss:w0rd',
  'sl/ash?que#frag',
  '100%pure%zz%4',
  'with a space',
  'pässwörd✓密码',
  'a@b@c:d/e?f#g%h i',
  '%41%40looks-encoded',
  'amp&password=in-it',
];
export const NASTY_PASSWORDS: readonly string[] = CORES.map((core, i) => `${marker(i, 'a')}${core}${marker(i, 'b')}`);

function marker(i: number, end: 'a' | 'b'): string {
  return `zqS${i + 1}${end}`;
}

/** How a password may stand in a URL: as typed, or percent-encoded as it should be. */
export const FORMS = { raw: (password: string) => password, encoded: (password: string) => encodeURIComponent(password) } as const;

/**
 * Every way the password could show up in a message: as typed, percent-encoded either way, and
 * decoded (a password written raw in a URL that holds "%41" means "A" to every parser).
 */
export function needles(password: string): string[] {
  let decoded: string | undefined;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    decoded = undefined;
  }
  const markers = password.match(/^zqS\d+a|zqS\d+b$/g) ?? [];
  return [...new Set([password, encodeURIComponent(password), encodeURI(password), ...(decoded === undefined ? [] : [decoded]), ...markers])];
}

/** The needles of `password` found in `text` (empty when it is clean). */
export function leaks(text: string, password: string): string[] {
  return needles(password).filter((needle) => text.includes(needle));
}

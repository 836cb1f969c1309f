import fs from 'node:fs';
import { ConfigError } from './errors.js';

/**
 * API keys, as the operator gives them: `name:secret` pairs. The name is who the key is: tasks
 * record it as their owner, logs and metrics show it. The secret is what a client sends and is
 * never logged or echoed, not even in a configuration error.
 */
export interface ApiKey {
  name: string;
  secret: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Visible ASCII but the comma (the list separator); long enough that guessing is hopeless. */
const SECRET = /^[\x21-\x2b\x2d-\x7e]{16,256}$/;

/**
 * API_KEYS (comma-separated) and API_KEYS_FILE (one pair a line, `#` comments: for a mounted
 * secret) together. Either may be absent; both empty means auth is off.
 */
export function parseApiKeys(inline: string | undefined, file: string | undefined): ApiKey[] {
  const entries: { from: string; text: string }[] = [];
  for (const text of (inline ?? '').split(',')) if (text.trim()) entries.push({ from: 'API_KEYS', text: text.trim() });
  if (file !== undefined) {
    let content: string;
    try {
      content = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError('API_KEYS_FILE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    for (const line of content.split(/\r?\n/)) {
      const text = line.trim();
      if (text && !text.startsWith('#')) entries.push({ from: 'API_KEYS_FILE', text });
    }
  }

  const keys: ApiKey[] = [];
  for (const [n, { from, text }] of entries.entries()) {
    const colon = text.indexOf(':');
    const name = colon > 0 ? text.slice(0, colon) : '';
    const secret = colon > 0 ? text.slice(colon + 1) : '';
    // Say which entry is wrong by its place and (if valid) its name, never by its secret.
    const which = NAME.test(name) ? `key "${name}"` : `entry ${n + 1}`;
    if (!NAME.test(name)) throw new ConfigError(from, `${which} must be name:secret, the name letters, digits, "_", "." or "-" (at most 64)`);
    if (!SECRET.test(secret))
      throw new ConfigError(from, `${which}: the secret must be 16-256 visible ASCII characters without "," (e.g. $(openssl rand -hex 24))`);
    if (keys.some((key) => key.name === name)) throw new ConfigError(from, `${which} is given twice`);
    if (keys.some((key) => key.secret === secret)) throw new ConfigError(from, `${which} has the same secret as another key`);
    keys.push({ name, secret });
  }
  return keys;
}

/** ADMIN_KEYS: names of API keys that may open the dashboard; each must be one of the keys. */
export function parseAdminKeys(raw: string | undefined, keys: readonly ApiKey[]): string[] {
  const names = (raw ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!keys.some((key) => key.name === name)) throw new ConfigError('ADMIN_KEYS', `"${name.slice(0, 64)}" is not the name of one of API_KEYS`);
  }
  return names;
}

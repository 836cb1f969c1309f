import { ConfigError } from './errors.js';
import type { S3Destination } from './destinations.js';

/**
 * How loadConfig (config.ts) reads one variable of each kind: whole numbers in a range, lists of
 * them, on/off, the webhook secret, the upload store. Each throws ConfigError naming the variable
 * when a value is present but wrong, never a silent fallback.
 */
export type Env = Record<string, string | undefined>;

/** Where the gateway puts accepted uploads and where workers read them from. */
export type UploadStoreSetting = { readonly kind: 'volume' } | { readonly kind: 's3'; readonly destination: S3Destination };

/** `volume`, or `s3:<name>` of a configured S3 destination: a name that is not one stops the process. */
export function uploadStore(raw: string | undefined, destinations: Record<string, S3Destination>): UploadStoreSetting {
  if (raw === undefined || raw === 'volume') return { kind: 'volume' };
  const name = raw.startsWith('s3:') ? raw.slice('s3:'.length) : undefined;
  if (name === undefined) throw new ConfigError('UPLOAD_STORE', `"${raw.slice(0, 64)}" must be volume or s3:<destination>`);
  const destination = Object.hasOwn(destinations, name) ? destinations[name] : undefined;
  if (!destination) {
    const known = Object.keys(destinations);
    throw new ConfigError('UPLOAD_STORE', `"${name.slice(0, 64)}" is not one of S3_DESTINATIONS (${known.length > 0 ? known.join(', ') : 'none configured'})`);
  }
  return { kind: 's3', destination };
}

/** A Standard Webhooks secret: `whsec_` and base64 of at least 24 bytes. Never echoed in errors. */
export function webhookSecret(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const body = raw.startsWith('whsec_') ? raw.slice('whsec_'.length) : undefined;
  if (body === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(body) || Buffer.from(body, 'base64').length < 24) {
    throw new ConfigError('WEBHOOK_SECRET', 'must be "whsec_" followed by the base64 of at least 24 random bytes (e.g. whsec_$(openssl rand -base64 32))');
  }
  return raw;
}

export function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'on') return true;
  if (raw === 'off') return false;
  throw new ConfigError(name, `"${raw}" must be on or off`);
}

export function intList(env: Env, name: string, fallback: number[], min: number, max: number): number[] {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  return raw.split(',').map((part) => {
    // A stray comma would otherwise read as a 0 (a retry tier with no delay at all).
    if (part.trim() === '') throw new ConfigError(name, `"${raw}" has an empty entry`);
    return int({ [name]: part }, name, 0, min, max);
  });
}

export function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `"${raw}" is not a whole number`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `${value} is outside ${min}..${max}`);
  return value;
}

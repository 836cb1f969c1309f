import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { ErrorCode } from './error-codes.js';
import { HttpError } from './http-errors.js';
import type { ApiKey } from '../../shared/index.js';

/**
 * Who is asking. With API_KEYS unset everyone is the one anonymous client (owner null) and auth
 * changes nothing. With keys, a request names its key by `Authorization: Bearer <secret>` — or,
 * from a browser, by HTTP Basic with the secret as the password, which the browser asks for once
 * and then sends with every request of the page, its fetches and EventSource included.
 */
export interface Client {
  /** The key's name, recorded as the owner of the tasks it makes; null for anonymous. */
  owner: string | null;
  /** May open the dashboard: every client while auth is off, ADMIN_KEYS with it on. */
  admin: boolean;
}

export interface AuthOptions {
  keys: readonly ApiKey[];
  adminKeys: readonly string[];
  /** With keys: requests without one still pass, as the anonymous client (ALLOW_ANONYMOUS). */
  allowAnonymous: boolean;
}

const ANONYMOUS: Client = { owner: null, admin: false };
const EVERYONE: Client = { owner: null, admin: true };

/** The client `authenticate` found; anonymous before it ran. */
export function clientOf(res: Response): Client {
  return (res.locals.client as Client | undefined) ?? ANONYMOUS;
}

const digest = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export function authenticate({ keys, adminKeys, allowAnonymous }: AuthOptions): RequestHandler {
  if (keys.length === 0) {
    return (_req, res, next) => {
      res.locals.client = EVERYONE;
      next();
    };
  }
  // Looked up by the secret's digest: the map's string comparison then tells an attacker nothing
  // about the secrets themselves.
  const byDigest = new Map(keys.map((key) => [digest(key.secret), key.name]));
  const admins = new Set(adminKeys);
  return (req, res, next) => {
    const presented = credentialOf(req);
    if (presented === undefined) {
      if (!allowAnonymous) throw challenge(req, 'unauthorized', 'this gateway needs an API key: send Authorization: Bearer <key>');
      res.locals.client = ANONYMOUS;
      next();
      return;
    }
    const name = byDigest.get(digest(presented.secret));
    // A wrong key is refused even where anonymous requests pass: falling back would hide the mistake.
    if (name === undefined) throw challenge(req, 'invalid_api_key', 'the API key is not valid', 'invalid_token');
    res.locals.client = { owner: name, admin: admins.has(name) } satisfies Client;
    next();
  };
}

/** The dashboard: only admin keys (every client while auth is off). */
export const requireAdmin: RequestHandler = (req, res, next) => {
  const client = clientOf(res);
  if (client.admin) return next();
  if (client.owner === null) throw challenge(req, 'unauthorized', 'the dashboard needs an admin API key (ADMIN_KEYS)');
  throw new HttpError(403, 'forbidden', 'this API key may not open the dashboard (ADMIN_KEYS)');
};

/**
 * RATE_LIMIT requests per window, counted per API key (per client address for anonymous
 * requests) in this gateway's memory: N gateways allow up to N times as much in all. Undefined
 * when the limit is off.
 */
export function rateLimiter(limit: number, windowSeconds: number): RequestHandler | undefined {
  if (limit === 0) return undefined;
  return rateLimit({
    windowMs: windowSeconds * 1000,
    limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req, res) => {
      const { owner } = clientOf(res);
      return owner !== null ? `key:${owner}` : `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
    },
    // The library has set Retry-After (seconds to the window's end) by now; answer with our envelope.
    handler: (_req, res, next) => {
      const retryAfter = res.getHeader('retry-after');
      next(
        new HttpError(
          429,
          'rate_limited',
          `too many requests: at most ${limit} every ${windowSeconds} s per API key`,
          {},
          { 'Retry-After': String(retryAfter ?? windowSeconds) },
        ),
      );
    },
  });
}

type Credential = { scheme: 'bearer' | 'basic'; secret: string };

/** `Bearer <secret>`, or `Basic` with the secret as the password (or as the user name, as `curl -u <secret>:` sends it). */
function credentialOf(req: Request): Credential | undefined {
  const header = req.get('authorization');
  if (header === undefined) return undefined;
  const match = /^(\S+)\s+(\S+)\s*$/.exec(header);
  const scheme = match?.[1]?.toLowerCase();
  if (scheme === 'bearer') return { scheme, secret: match![2]! };
  if (scheme === 'basic') {
    const decoded = Buffer.from(match![2]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? decoded : decoded.slice(0, colon);
    const password = colon < 0 ? '' : decoded.slice(colon + 1);
    return { scheme, secret: password || user };
  }
  throw challenge(req, 'invalid_authorization', 'Authorization must be "Bearer <key>" (or Basic, from a browser)');
}

/**
 * 401 with the challenge the caller can answer: a browser navigating (it accepts HTML) gets Basic,
 * so it shows its own sign-in prompt; an API client gets Bearer (RFC 6750).
 */
function challenge(req: Request, code: ErrorCode, message: string, bearerError?: string): HttpError {
  const browser = req.accepts(['json', 'html']) === 'html';
  const header = browser ? 'Basic realm="warren", charset="UTF-8"' : `Bearer realm="warren"${bearerError ? `, error="${bearerError}"` : ''}`;
  return new HttpError(401, code, message, {}, { 'WWW-Authenticate': header });
}

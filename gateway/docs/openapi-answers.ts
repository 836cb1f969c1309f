import type { ErrorCode } from '../http/error-codes.js';

/**
 * The pieces every path of the OpenAPI document is made of (references, error answers), and what
 * wraps every keyed route: its authentication answers and the task store's 503/507.
 */
export type Json = Record<string, unknown>;

export const schema = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
export const header = (name: string): Json => ({ $ref: `#/components/headers/${name}` });
export const parameter = (name: string): Json => ({ $ref: `#/components/parameters/${name}` });
export const INTERNAL_ERROR = { $ref: '#/components/responses/InternalError' };

export function json(description: string, name: string, headers?: Json): Json {
  return { description, ...(headers ? { headers } : {}), content: { 'application/json': { schema: schema(name) } } };
}

/** An error answer: the envelope, with the codes this route gives under this status (from the registry, http/error-codes.ts). */
export function fail(codes: readonly ErrorCode[], note = '', headers?: Json): Json {
  return json(`error.code: ${codes.map((code) => `\`${code}\``).join(', ')}${note ? `. ${note}` : ''}`, 'ErrorEnvelope', headers);
}

export function html(description: string): Json {
  return { description, content: { 'text/html': { schema: { type: 'string' } } } };
}

/** Keyed routes that read or write no task: the form page. */
const STORELESS_PATHS = new Set(['/upload']);

/**
 * Every route that reads or writes tasks answers 503 store_unavailable while the task store is out
 * of reach, and a route that writes answers 507 insufficient_storage while the store's disk is
 * full; both come with Retry-After. Added to what each route already answers under those statuses.
 */
export function withStoreFaults(paths: Record<string, Json>): Record<string, Json> {
  const addCode = (existing: Json | undefined, code: ErrorCode, note: string): Json => {
    if (!existing) return fail([code], note, { 'Retry-After': header('RetryAfter') });
    const listed = String(existing.description);
    const description = listed.includes(`\`${code}\``) ? listed : listed.replace(/^(error\.code: [^.]*)/, `$1, \`${code}\``);
    return { ...existing, description: `${description}${description.endsWith('.') ? '' : '.'} ${code}: ${note}` };
  };
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => {
      if (OPEN_PATHS.has(path) || STORELESS_PATHS.has(path)) return [path, item];
      const operations = Object.entries(item).map(([method, operation]) => {
        const op = operation as Json & { responses: Json };
        const responses: Json = {
          ...op.responses,
          '503': addCode(op.responses['503'] as Json | undefined, 'store_unavailable', 'The task store is out of reach; try again after Retry-After'),
        };
        if (method !== 'get')
          responses['507'] = addCode(
            op.responses['507'] as Json | undefined,
            'insufficient_storage',
            'The task store’s disk is full; try again after Retry-After',
          );
        return [method, { ...op, responses }];
      });
      return [path, Object.fromEntries(operations)];
    }),
  );
}

/** The keys of a path item that are operations (a path item also holds `servers`, `parameters`…). */
const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** Routes that never ask for a key (gateway/app.ts mounts them before `authenticate`). */
const OPEN_PATHS = new Set(['/echo', '/health/ready', '/upload/fields', '/static/{file}', '/processors', '/openapi.json', '/asyncapi.json', '/metrics']);

/**
 * API keys, on every other route: required when API_KEYS is set (the empty requirement says a
 * gateway without keys takes requests without one), with the 401 and 429 every such route can
 * answer, and the dashboard's 403.
 */
export function withAuth(paths: Record<string, Json>): Record<string, Json> {
  const unauthorized = fail(
    ['unauthorized', 'invalid_api_key', 'invalid_authorization'],
    'With API_KEYS set: no key, a wrong one, or a malformed Authorization header; WWW-Authenticate says how to sign in',
    {
      'WWW-Authenticate': { description: 'Bearer for API clients, Basic for a browser (it accepts text/html)', schema: { type: 'string' } },
    },
  );
  const limited = fail(['rate_limited'], 'More than RATE_LIMIT requests of this key in RATE_LIMIT_WINDOW_SECONDS', { 'Retry-After': header('RetryAfter') });
  const forbidden = (path: string): Json =>
    path.startsWith('/dashboard')
      ? fail(['forbidden', 'cross_site_request'], 'The key is not one of ADMIN_KEYS, or a browser was made to send the request from another site')
      : fail(
          ['cross_site_request'],
          'A browser was made to send this change from another site: its Origin (or Referer) is not the gateway’s own (PUBLIC_URL, or the Host it was addressed to), or Sec-Fetch-Site says cross-site. Requests with a Bearer key, or with none of these headers, are not checked',
        );
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => {
      // `security: []` says so explicitly: without it, readers fall back to a document-wide default.
      if (OPEN_PATHS.has(path)) {
        return [path, Object.fromEntries(Object.entries(item).map(([key, value]) => [key, METHODS.has(key) ? { ...(value as Json), security: [] } : value]))];
      }
      const operations = Object.entries(item).map(([method, operation]) => {
        const op = operation as Json & { responses: Json };
        const responses: Json = { ...op.responses, '401': unauthorized, '429': limited };
        if (path.startsWith('/dashboard')) responses['403'] = forbidden(path);
        else if (method !== 'get') responses['403'] ??= forbidden(path);
        return [method, { ...op, security: [{}, { apiKey: [] }, { browser: [] }], responses }];
      });
      return [path, Object.fromEntries(operations)];
    }),
  );
}

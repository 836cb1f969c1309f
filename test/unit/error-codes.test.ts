import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorCode, statusesOf, type ErrorCode } from '../../gateway/http/error-codes.js';

/**
 * The error codes a client can meet: one registry (gateway/http/error-codes.ts), and the OpenAPI
 * document declaring each under its status — for every route, every code the code behind that
 * route can answer. (The 409 idempotency_key_reused once slipped through undeclared.)
 */
const root = path.resolve(import.meta.dirname, '../..');
const openapi = JSON.parse(fs.readFileSync(path.join(root, 'docs/openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, { responses: Record<string, { description?: string }> }>>;
};

/** status → codes declared for one operation, read from "error.code: `a`, `b`. …" descriptions. */
function declared(pathName: string, method: string): Map<number, Set<string>> {
  const operation = openapi.paths[pathName]?.[method];
  if (!operation) throw new Error(`openapi.json has no ${method.toUpperCase()} ${pathName}`);
  const codes = new Map<number, Set<string>>();
  for (const [status, response] of Object.entries(operation.responses)) {
    const list = /^error\.code: ([^.]*)/.exec(response.description ?? '')?.[1] ?? '';
    codes.set(Number(status), new Set([...list.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!)));
  }
  return codes;
}

/** The registry codes a source file names (string literals). */
function codesIn(...files: string[]): ErrorCode[] {
  const found = new Set<ErrorCode>();
  for (const file of files) {
    for (const match of fs.readFileSync(path.join(root, file), 'utf8').matchAll(/'([a-z_]+)'/g)) if (isErrorCode(match[1]!)) found.add(match[1]);
  }
  return [...found];
}

/** Codes every keyed route may answer whatever its own code does (auth, rate limit, the task store, a route that went wrong). */
const EVERYWHERE = new Set<string>([
  'unauthorized',
  'invalid_api_key',
  'invalid_authorization',
  'rate_limited',
  'cross_site_request',
  'forbidden',
  'store_unavailable',
  'insufficient_storage',
  'internal_error',
  'not_found',
]);

const ROUTES: { operations: [string, string][]; files: string[]; also?: ErrorCode[] }[] = [
  {
    operations: [['/uploader', 'post']],
    files: [
      'gateway/routes/submit.ts',
      'gateway/tasks/submission.ts',
      'gateway/tasks/delivery-targets.ts',
      'gateway/uploads/accept.ts',
      'gateway/uploads/storage.ts',
      'gateway/uploads/disk-budget.ts',
      'gateway/uploads/s3-store.ts',
      'shared/url-guard.ts',
    ],
  },
  {
    operations: [
      ['/task_status/{id}', 'get'],
      ['/tasks/{id}', 'get'],
      ['/task_events/{id}', 'get'],
    ],
    files: ['gateway/tasks/task-lookup.ts'],
  },
  // routes/tasks.ts answers for both: artifact_not_found is the artifact route's alone.
  { operations: [['/task_result/{id}/artifacts/{name}', 'get']], files: ['gateway/routes/tasks.ts', 'gateway/tasks/task-lookup.ts'] },
  {
    operations: [['/task_result/{id}', 'get']],
    files: ['gateway/tasks/task-lookup.ts'],
    also: ['task_not_ready', 'task_failed', 'task_revoked', 'result_expired', 'artifact_gone'],
  },
  { operations: [['/tasks', 'get']], files: ['gateway/routes/task-list.ts'] },
  { operations: [['/tasks/{id}/inputs/{index}', 'get']], files: ['gateway/routes/task-inputs.ts', 'gateway/tasks/task-lookup.ts'] },
  { operations: [['/task_cancel/{id}', 'post']], files: ['gateway/routes/cancel.ts', 'gateway/tasks/task-lookup.ts'] },
  { operations: [['/task_deliveries/{id}/{target}/redeliver', 'post']], files: ['gateway/routes/deliveries.ts', 'gateway/tasks/task-lookup.ts'] },
  { operations: [['/upload/fields', 'get']], files: [] },
];

describe('error codes', () => {
  it('are declared in openapi.json under their status, each of them', () => {
    const everywhere = new Map<string, Set<number>>();
    for (const [pathName, operations] of Object.entries(openapi.paths)) {
      for (const method of Object.keys(operations).filter((key) => ['get', 'post', 'put', 'patch', 'delete'].includes(key))) {
        for (const [status, codes] of declared(pathName, method))
          for (const code of codes) everywhere.set(code, (everywhere.get(code) ?? new Set()).add(status));
      }
    }
    const undeclared = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => !statusesOf(code).some((status) => everywhere.get(code)?.has(status)));
    // Answered before any route (Node's HTTP parser) or only by a bug: not an operation's.
    expect(undeclared.filter((code) => !['request_timeout', 'headers_too_large', 'internal_error'].includes(code))).toEqual([]);
    const unknown = [...everywhere.keys()].filter((code) => !isErrorCode(code));
    expect(unknown).toEqual([]);
    const wrongStatus = [...everywhere].flatMap(([code, statuses]) =>
      isErrorCode(code) ? [...statuses].filter((status) => !statusesOf(code).includes(status)).map((status) => `${code} under ${status}`) : [],
    );
    expect(wrongStatus).toEqual([]);
  });

  it.each(ROUTES)('are declared for every code a route answers: $operations', ({ operations, files, also = [] }) => {
    const answered = [...codesIn(...files), ...also].filter((code) => !EVERYWHERE.has(code));
    for (const [pathName, method] of operations) {
      const codes = declared(pathName, method);
      const missing = answered.filter((code) => !statusesOf(code).some((status) => codes.get(status)?.has(code)));
      expect(missing, `${method.toUpperCase()} ${pathName}`).toEqual([]);
    }
  });
});

/**
 * The paths of the OpenAPI document: every route the gateway serves, with every status it can
 * answer. Paths are relative to the server URL (BASE_PATH). test/unit/api-docs.test.ts walks the
 * Express app and fails when a route is served but not listed here, or listed but not served.
 */
import type { ErrorCode } from '../http/error-codes.js';

type Json = Record<string, unknown>;

const schema = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const header = (name: string): Json => ({ $ref: `#/components/headers/${name}` });
const parameter = (name: string): Json => ({ $ref: `#/components/parameters/${name}` });
const INTERNAL_ERROR = { $ref: '#/components/responses/InternalError' };

function json(description: string, name: string, headers?: Json): Json {
  return { description, ...(headers ? { headers } : {}), content: { 'application/json': { schema: schema(name) } } };
}

/** An error answer: the envelope, with the codes this route gives under this status (from the registry, http/error-codes.ts). */
function fail(codes: readonly ErrorCode[], note = '', headers?: Json): Json {
  return json(`error.code: ${codes.map((code) => `\`${code}\``).join(', ')}${note ? `. ${note}` : ''}`, 'ErrorEnvelope', headers);
}

function html(description: string): Json {
  return { description, content: { 'text/html': { schema: { type: 'string' } } } };
}

const BAD_ID = fail(['invalid_task_id'], 'Task ids are UUIDs');
const TARGET: Json = { name: 'target', in: 'path', required: true, description: 'webhook, s3, ftp or volume', schema: { type: 'string', enum: ['webhook', 's3', 'ftp', 'volume'] } };
const NOT_READY = fail(['task_not_ready', 'task_failed', 'task_revoked'], 'The envelope adds `status`; task_failed adds `task_error`; task_not_ready comes with Retry-After', {
  'Retry-After': header('RetryAfter'),
});

/** A file sent with its own content type; send honours conditional and Range requests. */
const FILE_ANSWERS: Json = {
  '206': { description: 'Part of the file (Range request)', content: { '*/*': {} } },
  '304': { description: 'Not modified (conditional request)' },
  '416': fail(['bad_request'], 'The Range cannot be satisfied'),
};

export function buildPaths({ defaultProcessor }: { defaultProcessor: string }): Record<string, Json> {
  const task = (operationId: string, summary: string, description: string, responses: Json, extra: Json = {}): Json => ({
    get: { operationId, summary, description, tags: ['tasks'], parameters: [parameter('TaskId'), ...((extra.parameters as Json[] | undefined) ?? [])], responses: { ...responses, '400': BAD_ID, '500': INTERNAL_ERROR } },
  });

  return {
    '/echo': {
      get: { operationId: 'echo', summary: 'Liveness', tags: ['health'], responses: { '200': json('The process answers', 'Liveness') } },
    },
    '/health/ready': {
      get: {
        operationId: 'ready',
        summary: 'Readiness',
        description: 'Ready when connected to the broker with the topology declared. The 503 body is a Readiness document, not the error envelope, so probes read one shape.',
        tags: ['health'],
        responses: { '200': json('Ready', 'Readiness'), '503': json('Not ready; `problem` says why', 'Readiness') },
      },
    },
    '/upload': {
      get: {
        operationId: 'uploadForm',
        summary: 'The HTML upload form',
        description: 'Works without JavaScript (a plain POST lands on /tasks/{id}); with it, shows the status live.',
        tags: ['pages'],
        parameters: [{ name: 'processor', in: 'query', required: false, description: `Preselected processor (default \`${defaultProcessor}\`)`, schema: { type: 'string' } }],
        responses: { '200': html('The form') },
      },
    },
    '/upload/fields': {
      get: {
        operationId: 'uploadFormFields',
        summary: "One processor's form fields, as an HTML fragment",
        description: 'The form script swaps this in when the processor changes, so the fields have one renderer.',
        tags: ['pages'],
        parameters: [{ name: 'processor', in: 'query', required: true, schema: { type: 'string' } }],
        responses: { '200': html('The fields'), '404': fail(['unknown_processor']) },
      },
    },
    '/static/{file}': {
      get: {
        operationId: 'staticFile',
        summary: "The pages' scripts and styles",
        tags: ['pages'],
        parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { description: 'The file (text/css, text/javascript)', content: { '*/*': {} } },
          '206': FILE_ANSWERS['206'],
          '304': FILE_ANSWERS['304'],
          '404': fail(['not_found']),
        },
      },
    },
    '/processors': {
      get: {
        operationId: 'listProcessors',
        summary: 'What each processor takes',
        description: 'Name, version, description, the JSON Schema of its fields and the files it takes, for clients and the form to build inputs.',
        tags: ['processors'],
        responses: { '200': json('The processors and the default', 'ProcessorList') },
      },
    },
    '/uploader': {
      post: {
        operationId: 'submit',
        summary: 'Submit a task',
        description:
          'Validates the fields against the processor, streams files to the volume, records the task PENDING, publishes it and waits for the ' +
          "broker's confirm; only then answers 202. `processor` names the processor; every other key is a field; multipart files (any field name) go to the processor. " +
          'With `Prefer: wait=N` the answer may be the finished task (200).',
        tags: ['tasks'],
        parameters: [parameter('Prefer')],
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: schema('Submission') },
            'application/x-www-form-urlencoded': { schema: schema('Submission') },
            'multipart/form-data': { schema: schema('MultipartSubmission') },
          },
        },
        responses: {
          '200': json('`Prefer: wait=N` and the task finished in time', 'FinishedTask', { Location: header('Location'), 'Preference-Applied': header('PreferenceApplied') }),
          '202': json('Accepted: queued and confirmed by the broker', 'SubmitAccepted', { Location: header('Location'), 'Preference-Applied': header('PreferenceApplied') }),
          '303': { description: 'A browser posting the form (Accept: text/html) is sent to the task page /tasks/{id}', headers: { Location: header('Location') } },
          '400': fail(
            ['invalid_body', 'invalid_processor', 'unknown_processor', 'invalid_field_name', 'invalid_fields', 'repeated_field', 'invalid_multipart', 'unexpected_file', 'wrong_file_count', 'request_aborted', 'bad_request', 'invalid_idempotency_key', 'invalid_delivery', 'unknown_destination', 'webhooks_disabled', 'invalid_webhook_url', 'webhook_url_not_public', 'webhook_url_unresolvable'],
            'invalid_fields adds `problems`; webhook_url_not_public: the URL resolves to a loopback, private, link-local or otherwise non-public address (WEBHOOK_ALLOWLIST lets operators allow some)',
          ),
          '409': fail(['idempotency_key_reused'], 'The Idempotency-Key was used before for a different request (another processor, fields, targets or files)'),
          '413': fail(['body_too_large', 'too_many_fields', 'field_too_large', 'too_large', 'file_too_large', 'too_many_files', 'upload_too_large']),
          '507': fail(['insufficient_storage'], 'The upload volume has less free space than MIN_FREE_DISK_BYTES plus the request; comes with Retry-After', { 'Retry-After': header('RetryAfter') }),
          '415': fail(['unsupported_media_type', 'unsupported_encoding', 'unsupported_file_type'], 'unsupported_file_type adds `accepted`'),
          '500': INTERNAL_ERROR,
          '503': fail(['broker_unavailable', 'upload_store_unavailable'], 'The broker is unreachable, the queue is full or the publish was not confirmed, or the S3 upload store failed; nothing was queued or stored', { 'Retry-After': header('RetryAfter') }),
        },
      },
    },
    '/task_status/{id}': task(
      'taskStatus',
      'Status of a task',
      'Unknown ids are 404, never PENDING. With `Prefer: wait=N` the answer waits up to N seconds (capped by MAX_WAIT_SECONDS) for the task to finish.',
      { '200': json('The status document', 'StatusDocument', { 'Preference-Applied': header('PreferenceApplied') }), '404': fail(['task_not_found']) },
      { parameters: [parameter('Prefer')] },
    ),
    '/task_result/{id}': task(
      'taskResult',
      'Result of a task',
      'On SUCCESS: no output files → the JSON result; exactly one → that file with its content type and Content-Disposition; several, or `?format=json` → an ArtifactListing.',
      {
        '200': {
          description: 'The result',
          headers: { 'Content-Disposition': header('ContentDisposition') },
          content: { 'application/json': { schema: { anyOf: [schema('ArtifactListing'), { description: "The processor's JSON result" }] } }, '*/*': {} },
        },
        ...FILE_ANSWERS,
        '404': fail(['task_not_found']),
        '409': NOT_READY,
        '410': fail(['artifact_gone', 'result_expired'], 'The result or output file expired (RESULT_TTL_SECONDS); the envelope adds `expired_at`'),
      },
      { parameters: [{ name: 'format', in: 'query', required: false, description: '`json`: always the ArtifactListing, never the file', schema: { type: 'string', enum: ['json'] } }] },
    ),
    '/task_result/{id}/artifacts/{name}': task(
      'taskArtifact',
      'One output file of a task',
      'Sent with its content type and Content-Disposition.',
      {
        '200': { description: 'The file', headers: { 'Content-Disposition': header('ContentDisposition') }, content: { '*/*': {} } },
        ...FILE_ANSWERS,
        '404': fail(['task_not_found', 'artifact_not_found']),
        '409': NOT_READY,
        '410': fail(['artifact_gone', 'result_expired'], 'The result or output file expired (RESULT_TTL_SECONDS); the envelope adds `expired_at`'),
      },
      { parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }] },
    ),
    '/task_events/{id}': task(
      'taskEvents',
      'Live status of a task (Server-Sent Events)',
      'Opens with the current state, follows the events live, ends with `event: done` carrying the StatusDocument. `event: status` carries a LiveStatus. Reconnects catch up.',
      { '200': { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, '404': fail(['task_not_found']) },
    ),
    '/task_deliveries/{id}/{target}': task(
      'taskDeliveryAttempts',
      'Every attempt of one delivery target',
      'Oldest first, across rounds (a redeliver starts a new round): outcome, HTTP status for webhooks, error, duration.',
      { '200': json('The attempts', 'DeliveryAttempts'), '404': fail(['task_not_found', 'delivery_not_found']) },
      { parameters: [TARGET] },
    ),
    '/task_deliveries/{id}/{target}/redeliver': {
      post: {
        operationId: 'redeliver',
        summary: 'Deliver a finished target again',
        description: 'Starts a new round (a new webhook-id) for a target that is DELIVERED or FAILED. Answers with the target\'s new status.',
        tags: ['tasks'],
        parameters: [parameter('TaskId'), TARGET],
        responses: {
          '202': json('The new round is queued', 'DeliveryStatus'),
          '400': BAD_ID,
          '404': fail(['task_not_found', 'delivery_not_found']),
          '409': fail(['task_unfinished', 'delivery_in_progress']),
          '503': fail(['broker_unavailable'], 'The sweeper sends the round once the broker is back', { 'Retry-After': header('RetryAfter') }),
          '500': INTERNAL_ERROR,
        },
      },
    },
    '/task_cancel/{id}': {
      post: {
        operationId: 'cancelTask',
        summary: 'Cancel a task',
        description:
          'An unfinished task (PENDING, STARTED, RETRY) becomes REVOKED with error `revoked`: a queued task never runs, a running one is aborted, and it delivers nothing. ' +
          'The cancel is durable once answered. The answer waits up to 5 s for the record to show REVOKED. Cancelling a cancelled task again answers 200.',
        tags: ['tasks'],
        parameters: [parameter('TaskId')],
        responses: {
          '202': json('Cancelled: the status document (REVOKED, or its previous state if the record has not caught up yet)', 'StatusDocument'),
          '200': json('It was cancelled before: the status document', 'StatusDocument'),
          '400': BAD_ID,
          '404': fail(['task_not_found']),
          '409': fail(['task_finished'], 'It ended SUCCESS or FAILURE first; the envelope adds `status`'),
          '503': fail(['broker_unavailable'], 'The cancel was not confirmed by the broker; nothing changed', { 'Retry-After': header('RetryAfter') }),
          '500': INTERNAL_ERROR,
        },
      },
    },
    '/tasks/{id}': task('taskPage', 'HTML page of one task', 'Where the no-JavaScript form lands; refreshes itself until the task finishes.', {
      '200': html('The page'),
      '404': fail(['task_not_found']),
    }),
    '/openapi.json': {
      get: { operationId: 'openApi', summary: 'This document', tags: ['docs'], responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } },
    },
    '/asyncapi.json': {
      get: {
        operationId: 'asyncApi',
        summary: 'The broker contract',
        description: 'AsyncAPI 3.0: exchanges, queues and messages, for workers in any language.',
        tags: ['docs'],
        responses: { '200': { description: 'AsyncAPI 3.0', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
  };
}

/**
 * Operator routes: Prometheus metrics at the root (outside BASE_PATH, where scrapers look), and the
 * dashboard when DASHBOARD is on. The dashboard's JSON is for its own page and for people at a
 * terminal; it is described loosely, not as a contract.
 */
export function operatorPaths({ dashboard }: { dashboard: boolean }): Record<string, Json> {
  const query = (name: string, description: string, type: Json): Json => ({ name, in: 'query', required: false, description, schema: type });
  const filters = [
    query('status', 'Only tasks in this state', { type: 'string' }),
    query('processor', 'Only tasks of this processor', { type: 'string' }),
    query('before', 'Epoch ms: only tasks created before it (the next page)', { type: 'integer', minimum: 1 }),
    query('limit', 'Tasks per page (default 50)', { type: 'integer', minimum: 1, maximum: 200 }),
  ];
  const invalidQuery = fail(['invalid_query']);
  const paths: Record<string, Json> = {
    '/metrics': {
      servers: [{ url: '/', description: 'At the root, not under BASE_PATH' }],
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics of this gateway',
        tags: ['health'],
        responses: { '200': { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } }, '500': INTERNAL_ERROR },
      },
    },
  };
  if (!dashboard) return paths;
  return {
    ...paths,
    '/dashboard': {
      get: {
        operationId: 'dashboard',
        summary: "The operator's dashboard (HTML)",
        description: 'Task counts and recent tasks from the store, queue depths and dead letters from the broker. No authentication yet: DASHBOARD=off where the gateway is public.',
        tags: ['operators'],
        parameters: [...filters, ...['redriven', 'skipped'].map((name) => query(name, 'Outcome of a redrive, shown as a notice', { type: 'integer', minimum: 0 }))],
        responses: { '200': html('The dashboard'), '400': invalidQuery, '500': INTERNAL_ERROR },
      },
    },
    '/dashboard.json': {
      get: {
        operationId: 'dashboardData',
        summary: "The dashboard's data",
        tags: ['operators'],
        parameters: filters,
        responses: {
          '200': { description: 'generated_at, filters, counts, rate, broker (queues, dead letters), tasks, next_before', content: { 'application/json': { schema: { type: 'object' } } } },
          '400': invalidQuery,
          '500': INTERNAL_ERROR,
        },
      },
    },
    '/dashboard/dead-letters/redrive': {
      post: {
        operationId: 'redriveDeadLetters',
        summary: 'Send dead letters back to the queues they came from',
        description: 'Like every change, refused when a browser was made to send it from another site (Origin, Referer or Sec-Fetch-Site).',
        tags: ['operators'],
        requestBody: {
          required: false,
          content: Object.fromEntries(
            ['application/x-www-form-urlencoded', 'application/json'].map((type) => [
              type,
              { schema: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100, description: 'How many at most' } } } },
            ]),
          ),
        },
        responses: {
          '200': { description: 'Accept: application/json — redriven, skipped (with why)', content: { 'application/json': { schema: { type: 'object' } } } },
          '303': { description: 'A browser is sent back to the dashboard with the outcome', headers: { Location: header('Location') } },
          '400': fail(['invalid_body'], 'Bad JSON, or a limit that is not a whole number in range'),
          '403': fail(['cross_site_request']),
          '413': fail(['body_too_large', 'too_many_fields']),
          '415': fail(['unsupported_encoding']),
          '500': INTERNAL_ERROR,
          '503': fail(['broker_unavailable'], 'The envelope may add `redriven` and `skipped` when a pass stopped half-way', { 'Retry-After': header('RetryAfter') }),
        },
      },
    },
  };
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
        const responses: Json = { ...op.responses, '503': addCode(op.responses['503'] as Json | undefined, 'store_unavailable', 'The task store is out of reach; try again after Retry-After') };
        if (method !== 'get') responses['507'] = addCode(op.responses['507'] as Json | undefined, 'insufficient_storage', 'The task store’s disk is full; try again after Retry-After');
        return [method, { ...op, responses }];
      });
      return [path, Object.fromEntries(operations)];
    }),
  );
}

/** Routes that never ask for a key (gateway/app.ts mounts them before `authenticate`). */
const OPEN_PATHS = new Set(['/echo', '/health/ready', '/upload/fields', '/static/{file}', '/processors', '/openapi.json', '/asyncapi.json', '/metrics']);

/**
 * API keys, on every other route: required when API_KEYS is set (the empty requirement says a
 * gateway without keys takes requests without one), with the 401 and 429 every such route can
 * answer, and the dashboard's 403.
 */
export function withAuth(paths: Record<string, Json>): Record<string, Json> {
  const unauthorized = fail(['unauthorized', 'invalid_api_key', 'invalid_authorization'], 'With API_KEYS set: no key, a wrong one, or a malformed Authorization header; WWW-Authenticate says how to sign in', {
    'WWW-Authenticate': { description: 'Bearer for API clients, Basic for a browser (it accepts text/html)', schema: { type: 'string' } },
  });
  const limited = fail(['rate_limited'], 'More than RATE_LIMIT requests of this key in RATE_LIMIT_WINDOW_SECONDS', { 'Retry-After': header('RetryAfter') });
  const forbidden = (path: string): Json =>
    path.startsWith('/dashboard')
      ? fail(['forbidden', 'cross_site_request'], 'The key is not one of ADMIN_KEYS, or a browser was made to send the request from another site')
      : fail(['cross_site_request'], 'A browser was made to send this change from another site: its Origin (or Referer) is not the gateway’s own (PUBLIC_URL, or the Host it was addressed to), or Sec-Fetch-Site says cross-site. Requests with a Bearer key, or with none of these headers, are not checked');
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => {
      if (OPEN_PATHS.has(path)) return [path, item];
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

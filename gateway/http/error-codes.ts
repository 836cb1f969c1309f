/**
 * Every error code the HTTP API answers, with the status it comes with and what it means: the one
 * list that HttpError (gateway/http/http-errors.ts), the error envelope and the OpenAPI document
 * (gateway/docs/openapi-paths.ts) all read. A code is stable and machine-readable; a client acts
 * on it. test/unit/error-codes.test.ts checks that every code here is declared in openapi.json
 * under its status, and that every route declares the codes its code can answer.
 */
export const ERROR_CODES = {
  // 400: the request cannot be read, or asks for something that cannot be
  bad_request: { status: [400, 416], meaning: 'The HTTP request or its body cannot be read (416: a Range that cannot be satisfied)' },
  invalid_body: { status: 400, meaning: 'The body is not valid JSON, or not an object; or a dashboard action got a bad value' },
  request_aborted: { status: 400, meaning: 'The client went away before the request was complete' },
  invalid_multipart: { status: 400, meaning: 'The multipart body is malformed' },
  unexpected_file: { status: 400, meaning: 'A file was sent to a processor that takes none' },
  wrong_file_count: { status: 400, meaning: 'Fewer or more files than the processor takes' },
  invalid_processor: { status: 400, meaning: '"processor" is not a processor name' },
  unknown_processor: { status: [400, 404], meaning: 'No processor of that name' },
  invalid_field_name: { status: 400, meaning: 'A field name that is not letters, digits, "_", "." or "-"' },
  repeated_field: { status: 400, meaning: 'A form field given more than once' },
  invalid_fields: { status: 400, meaning: 'The fields do not fit the processor’s schema; `problems` says where' },
  invalid_idempotency_key: { status: 400, meaning: 'Idempotency-Key is not 1-255 visible ASCII characters' },
  invalid_delivery: { status: 400, meaning: 'A delivery target is malformed' },
  unknown_destination: { status: 400, meaning: 'An S3 or FTP destination this gateway does not have' },
  webhooks_disabled: { status: 400, meaning: 'A webhook target, but the gateway has no WEBHOOK_SECRET' },
  invalid_webhook_url: { status: 400, meaning: 'webhook_url is not an http(s) URL without credentials' },
  webhook_url_not_public: { status: 400, meaning: 'webhook_url reaches no public address (WEBHOOK_ALLOWLIST may allow it)' },
  webhook_url_unresolvable: { status: 400, meaning: 'webhook_url’s host does not resolve' },
  invalid_task_id: { status: 400, meaning: 'Task ids are UUIDs' },
  invalid_query: { status: 400, meaning: 'A query parameter with a bad value' },
  // 401, 403: who is asking
  unauthorized: { status: 401, meaning: 'API_KEYS is set and the request names no key' },
  invalid_api_key: { status: 401, meaning: 'The key is not one of API_KEYS' },
  invalid_authorization: { status: 401, meaning: 'The Authorization header is malformed' },
  forbidden: { status: 403, meaning: 'The key may not open the dashboard (ADMIN_KEYS)' },
  cross_site_request: { status: 403, meaning: 'A browser was made to send this change from another site' },
  // 404, 408, 409, 410: what is asked for
  not_found: { status: 404, meaning: 'No such route' },
  task_not_found: { status: 404, meaning: 'No such task (or another key’s)' },
  artifact_not_found: { status: 404, meaning: 'The task has no output file of that name' },
  input_not_found: { status: 404, meaning: 'The task has no uploaded file at that index kept on the volume' },
  delivery_not_found: { status: 404, meaning: 'The task has no delivery target of that name' },
  request_timeout: { status: 408, meaning: 'The request did not arrive in time' },
  task_not_ready: { status: 409, meaning: 'The task is not finished yet; comes with Retry-After' },
  task_failed: { status: 409, meaning: 'The task failed: it has no result; `task_error` says why' },
  task_revoked: { status: 409, meaning: 'The task was cancelled: it has no result' },
  task_finished: { status: 409, meaning: 'The task ended before the cancel' },
  task_unfinished: { status: 409, meaning: 'The task has not finished, so it delivers nothing yet' },
  delivery_in_progress: { status: 409, meaning: 'The delivery is still going on' },
  idempotency_key_reused: { status: 409, meaning: 'The Idempotency-Key was used for a different request' },
  result_expired: { status: 410, meaning: 'The result expired (RESULT_TTL_SECONDS) and was removed' },
  artifact_gone: { status: 410, meaning: 'The output file is no longer available' },
  // 413, 415, 429, 431: too much, or of the wrong kind
  body_too_large: { status: 413, meaning: 'The body is larger than MAX_BODY_BYTES' },
  field_too_large: { status: 413, meaning: 'A field is larger than MAX_FIELD_BYTES' },
  too_many_fields: { status: 413, meaning: 'More fields than MAX_FIELDS' },
  too_large: { status: 413, meaning: 'A multipart part over its limit' },
  file_too_large: { status: 413, meaning: 'A file larger than the processor or MAX_UPLOAD_BYTES takes' },
  too_many_files: { status: 413, meaning: 'More files than MAX_FILES' },
  upload_too_large: { status: 413, meaning: 'The files of one request total more than MAX_UPLOAD_TOTAL_BYTES' },
  unsupported_media_type: { status: 415, meaning: 'Not JSON, a form or multipart' },
  unsupported_encoding: { status: 415, meaning: 'A charset or content encoding the gateway does not read' },
  unsupported_file_type: { status: 415, meaning: 'A file whose bytes are not of a type the processor takes; `accepted` lists them' },
  rate_limited: { status: 429, meaning: 'The key spent its RATE_LIMIT; comes with Retry-After' },
  headers_too_large: { status: 431, meaning: 'Request headers over Node’s 16 KiB limit' },
  // 500, 503, 507: ours
  internal_error: { status: 500, meaning: 'A bug of ours; it has been logged' },
  broker_unavailable: { status: 503, meaning: 'The broker is unreachable, or did not take the message; comes with Retry-After' },
  store_unavailable: { status: 503, meaning: 'The task store is out of reach; comes with Retry-After' },
  upload_store_unavailable: { status: 503, meaning: 'The S3 upload store failed; comes with Retry-After' },
  insufficient_storage: { status: 507, meaning: 'A disk is full (the upload volume past MIN_FREE_DISK_BYTES, or the store’s); comes with Retry-After' },
} as const satisfies Record<string, { status: number | readonly number[]; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The statuses a code comes with. */
export function statusesOf(code: ErrorCode): readonly number[] {
  const { status } = ERROR_CODES[code];
  return typeof status === 'number' ? [status] : status;
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/**
 * The paths of the OpenAPI document: every route the gateway serves, with every status it can
 * answer. Paths are relative to the server URL (BASE_PATH). test/unit/api-docs.test.ts walks the
 * Express app and fails when a route is served but not listed here, or listed but not served.
 */
import { fail, header, html, INTERNAL_ERROR, json, parameter, schema, type Json } from './openapi-answers.js';

const BAD_ID = fail(['invalid_task_id'], 'Task ids are UUIDs');
const TARGET: Json = {
  name: 'target',
  in: 'path',
  required: true,
  description: 'webhook, s3, ftp or volume',
  schema: { type: 'string', enum: ['webhook', 's3', 'ftp', 'volume'] },
};
const NOT_READY = fail(
  ['task_not_ready', 'task_failed', 'task_revoked'],
  'The envelope adds `status`; task_failed adds `task_error`; task_not_ready comes with Retry-After',
  {
    'Retry-After': header('RetryAfter'),
  },
);

/** A file sent with its own content type; send honours conditional and Range requests. */
const FILE_ANSWERS: Json = {
  '206': { description: 'Part of the file (Range request)', content: { '*/*': {} } },
  '304': { description: 'Not modified (conditional request)' },
  '416': fail(['bad_request'], 'The Range cannot be satisfied'),
};

export function buildPaths({ defaultProcessor }: { defaultProcessor: string }): Record<string, Json> {
  const task = (operationId: string, summary: string, description: string, responses: Json, extra: Json = {}): Json => ({
    get: {
      operationId,
      summary,
      description,
      tags: ['tasks'],
      parameters: [parameter('TaskId'), ...((extra.parameters as Json[] | undefined) ?? [])],
      responses: { ...responses, '400': BAD_ID, '500': INTERNAL_ERROR },
    },
  });

  return {
    '/echo': {
      get: { operationId: 'echo', summary: 'Liveness', tags: ['health'], responses: { '200': json('The process answers', 'Liveness') } },
    },
    '/health/ready': {
      get: {
        operationId: 'ready',
        summary: 'Readiness',
        description:
          'Ready when connected to the broker with the topology declared. The 503 body is a Readiness document, not the error envelope, so probes read one shape.',
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
        parameters: [
          {
            name: 'processor',
            in: 'query',
            required: false,
            description: `Preselected processor (default \`${defaultProcessor}\`)`,
            schema: { type: 'string' },
          },
        ],
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
        parameters: [parameter('Prefer'), parameter('IdempotencyKey')],
        requestBody: { $ref: '#/components/requestBodies/Submission' },
        responses: {
          '200': json('`Prefer: wait=N` and the task finished in time', 'FinishedTask', {
            Location: header('Location'),
            'Preference-Applied': header('PreferenceApplied'),
            'Idempotent-Replayed': header('IdempotentReplayed'),
          }),
          '202': json('Accepted: queued and confirmed by the broker (or, with a repeated Idempotency-Key, by an earlier submission)', 'SubmitAccepted', {
            Location: header('Location'),
            'Preference-Applied': header('PreferenceApplied'),
            'Idempotent-Replayed': header('IdempotentReplayed'),
          }),
          '303': {
            description: 'A browser posting the form (Accept: text/html) is sent to the task page /tasks/{id}',
            headers: { Location: header('Location'), 'Idempotent-Replayed': header('IdempotentReplayed') },
          },
          '400': fail(
            [
              'invalid_body',
              'invalid_processor',
              'unknown_processor',
              'invalid_field_name',
              'invalid_fields',
              'repeated_field',
              'invalid_multipart',
              'unexpected_file',
              'wrong_file_count',
              'request_aborted',
              'bad_request',
              'invalid_idempotency_key',
              'invalid_delivery',
              'unknown_destination',
              'webhooks_disabled',
              'invalid_webhook_url',
              'webhook_url_not_public',
              'webhook_url_unresolvable',
            ],
            'invalid_fields adds `problems`; webhook_url_not_public: the URL resolves to a loopback, private, link-local or otherwise non-public address (WEBHOOK_ALLOWLIST lets operators allow some)',
          ),
          '409': fail(['idempotency_key_reused'], 'The Idempotency-Key was used before for a different request (another processor, fields, targets or files)'),
          '413': fail(['body_too_large', 'too_many_fields', 'field_too_large', 'too_large', 'file_too_large', 'too_many_files', 'upload_too_large']),
          '507': fail(['insufficient_storage'], 'The upload volume has less free space than MIN_FREE_DISK_BYTES plus the request; comes with Retry-After', {
            'Retry-After': header('RetryAfter'),
          }),
          '415': fail(['unsupported_media_type', 'unsupported_encoding', 'unsupported_file_type'], 'unsupported_file_type adds `accepted`'),
          '500': INTERNAL_ERROR,
          '503': fail(
            ['broker_unavailable', 'upload_store_unavailable'],
            'The broker is unreachable, the queue is full or the publish was not confirmed, or the S3 upload store failed; nothing was queued or stored',
            { 'Retry-After': header('RetryAfter') },
          ),
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
      {
        parameters: [
          {
            name: 'format',
            in: 'query',
            required: false,
            description: '`json`: always the ArtifactListing, never the file',
            schema: { type: 'string', enum: ['json'] },
          },
        ],
      },
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
        description: "Starts a new round (a new webhook-id) for a target that is DELIVERED or FAILED. Answers with the target's new status.",
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
          'An unfinished task (PENDING, STARTED, RETRY) becomes REVOKED with error `revoked`: a queued task never runs, a running one is aborted; it delivers no files, and a webhook target hears `task.revoked`. ' +
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
      get: {
        operationId: 'openApi',
        summary: 'This document',
        tags: ['docs'],
        responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
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

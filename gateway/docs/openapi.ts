import { Router } from 'express';
import type { Config, ProcessorDescriptor } from '../../shared/index.js';
import { asyncApiOptions, buildAsyncApi, toJsonSchema } from './asyncapi.js';
import { API_SCHEMAS } from './api-schemas.js';
import { withAuth, withStoreFaults } from './openapi-answers.js';
import { operatorPaths } from './openapi-operator-paths.js';
import { buildPaths } from './openapi-paths.js';
import { taskListPaths } from './openapi-task-list.js';

/**
 * The OpenAPI 3.1 document of the HTTP API, built from the same schemas the code uses
 * (api-schemas.ts, the processors' field schemas), served at {base}/openapi.json and committed
 * as docs/openapi.json (scripts/generate-api-docs.ts).
 */
export interface OpenApiOptions {
  basePath: string;
  processors: readonly ProcessorDescriptor[];
  /** The processor a submission without `processor` goes to. */
  defaultProcessor: string;
  /** Whether the operator's dashboard is served (DASHBOARD). */
  dashboard: boolean;
}

type Json = Record<string, unknown>;

/** Bumped with a breaking change of the HTTP API, like `version` in the message contracts. */
export const HTTP_API_VERSION = '1';

export function buildOpenApi({ basePath, processors, defaultProcessor, dashboard }: OpenApiOptions): Json {
  const schemas: Json = Object.fromEntries(Object.entries(API_SCHEMAS).map(([name, typebox]) => [name, toJsonSchema(typebox)]));
  const choice =
    `\`processor\` selects the branch: one per processor, titled with its name. Without \`processor\` the submission goes to \`${defaultProcessor}\`. ` +
    'Form values are strings, converted to the types declared here.';
  // Request bodies, not schemas: generators (openapi-typescript) read a property with a default as
  // always present in a shared schema, which would make `top` and the like required in clients.
  const submission = { description: `Fields of a submission. ${choice}`, oneOf: processors.map((p) => submissionBranch(p, defaultProcessor, false)) };
  const requestBodies: Json = {
    Submission: {
      required: true,
      description: 'JSON, a form, or multipart/form-data with files',
      content: {
        'application/json': { schema: submission },
        'application/x-www-form-urlencoded': { schema: submission },
        'multipart/form-data': {
          schema: {
            description: `Fields and files of a multipart submission. ${choice} The gateway takes files under any field name; this document names them \`file\`, required where the processor needs one.`,
            oneOf: processors.map((p) => submissionBranch(p, defaultProcessor, true)),
          },
        },
      },
    },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'warren HTTP API',
      version: HTTP_API_VERSION,
      description:
        'Submit slow work, get a task id at once, poll for the status and the result. Every 4xx/5xx answer of the JSON routes is an ErrorEnvelope ' +
        '(the codes are listed per status). The broker side is described by asyncapi.json.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: basePath || '/', description: 'BASE_PATH of this gateway' }],
    tags: [
      { name: 'tasks', description: 'Submit and follow tasks' },
      { name: 'processors', description: 'What can be run' },
      { name: 'pages', description: 'HTML for people' },
      { name: 'health', description: 'Probes and metrics' },
      { name: 'operators', description: 'The dashboard' },
      { name: 'docs', description: 'The API documents' },
    ],
    paths: withStoreFaults(withAuth({ ...buildPaths({ defaultProcessor }), ...taskListPaths(), ...operatorPaths({ dashboard }) })),
    components: {
      schemas,
      requestBodies,
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'One of API_KEYS (its secret). A task belongs to the key that made it; other keys get 404 for it',
        },
        browser: {
          type: 'http',
          scheme: 'basic',
          description: 'For browsers: any user name, the API key as the password (or as the user name with an empty password)',
        },
      },
      parameters: {
        TaskId: { name: 'id', in: 'path', required: true, description: 'Task id (UUID)', schema: { type: 'string', format: 'uuid' } },
        Prefer: {
          name: 'Prefer',
          in: 'header',
          required: false,
          description: '`wait=N` (RFC 7240): wait up to N seconds (capped by MAX_WAIT_SECONDS) for the task to finish before answering',
          schema: { type: 'string', examples: ['wait=10'] },
        },
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Makes a retried submit safe: the same key (per API key) within IDEMPOTENCY_TTL_SECONDS answers with the task the first submission made, ' +
            'never a second one (`Idempotent-Replayed: true`); the same key with a different request is 409 `idempotency_key_reused`',
          schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$', examples: ['order-1234'] },
        },
      },
      headers: {
        Location: { description: 'The task status URL (the task page for a 303)', schema: { type: 'string' } },
        RetryAfter: { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } },
        PreferenceApplied: { description: 'The `wait=N` that was honoured', schema: { type: 'string' } },
        IdempotentReplayed: {
          description: '`true` when the Idempotency-Key was seen before: the answer is the earlier submission’s task, nothing new was queued',
          schema: { type: 'string', enum: ['true'] },
        },
        ContentDisposition: { description: 'attachment with the file name, when the answer is a file', schema: { type: 'string' } },
      },
      responses: {
        InternalError: {
          description: 'error.code: `internal_error`. Logged on the server; no details reach the client',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorEnvelope' } } },
        },
      },
    },
  };
}

/** Delivery targets, the same for every processor (gateway/tasks/delivery-targets.ts). */
const DELIVERY_PROPERTIES: Json = {
  webhook_url: { type: 'string', format: 'uri', description: 'Signed webhook (Standard Webhooks) when the task finishes; must resolve to a public address' },
  webhook_events: {
    type: 'string',
    description:
      'Comma-separated: started, progress, completed (default completed). `completed` is the final notification, typed by how the task ended: ' +
      'task.completed (SUCCESS), task.failed (FAILURE) or task.revoked (REVOKED); started/progress never arrive after it.',
  },
  s3: { type: 'string', description: 'Name of an S3 destination the operator configured (S3_DESTINATIONS)' },
  s3_prefix: { type: 'string', description: "Key prefix under the destination's own; results land in <prefix>/<task_id>/" },
  ftp: { type: 'string', description: 'Name of an FTP destination the operator configured (FTP_DESTINATIONS)' },
  ftp_path: { type: 'string', description: "Directory under the destination's root; results land in <path>/<task_id>/" },
  volume: { type: 'boolean', description: 'Also write the results to the shared volume, DATA_DIR/results/[volume_path/]<task_id>/' },
  volume_path: { type: 'string', description: 'Sub-directory of DATA_DIR/results' },
};

/**
 * One processor's submission: its field schema with `processor` added (required unless it is the
 * default). Merged rather than combined with allOf, because a field schema that forbids extra
 * properties would then refuse `processor` itself.
 */
function submissionBranch(processor: ProcessorDescriptor, defaultProcessor: string, multipart: boolean): Json {
  const fields = toJsonSchema(processor.fields) as Json & { properties?: Json; required?: string[] };
  const properties: Json = {
    processor: { const: processor.name, description: `Selects ${processor.name} ${processor.version}` },
    ...fields.properties,
    ...DELIVERY_PROPERTIES,
  };
  const files = processor.files;
  if (multipart && files) {
    properties.file = {
      type: 'array',
      // format: binary is OpenAPI 3.0's word for a file part; generators still read it, 3.1 readers read contentMediaType.
      items: { type: 'string', format: 'binary', contentMediaType: 'application/octet-stream' },
      minItems: files.minCount,
      maxItems: files.maxCount,
      description:
        `${files.minCount === files.maxCount ? files.minCount : `${files.minCount}..${files.maxCount}`} file(s) of ${files.accept.join(', ')} ` +
        `(sniffed from the bytes)${files.maxBytes === undefined ? '' : `, at most ${files.maxBytes} bytes each`}`,
    };
  }
  const required = [
    ...(processor.name === defaultProcessor ? [] : ['processor']),
    ...(fields.required ?? []),
    ...(multipart && files && files.minCount > 0 ? ['file'] : []),
  ];
  const { properties: _properties, required: _required, ...rest } = fields;
  return {
    title: processor.name,
    description: processor.description + (processor.files && !multipart ? ' Its files need multipart/form-data.' : ''),
    ...rest,
    properties,
    ...(required.length > 0 ? { required } : {}),
  };
}

/** Serves the documents, serialised once: they describe this process's configuration, which does not change. */
export function openApiRoutes({ document, asyncapi }: { document: Json; asyncapi: Json }): Router {
  const router = Router();
  const bodies = { openapi: JSON.stringify(document), asyncapi: JSON.stringify(asyncapi) };
  router.get('/openapi.json', (_req, res) => {
    res.type('json').send(bodies.openapi);
  });
  router.get('/asyncapi.json', (_req, res) => {
    res.type('json').send(bodies.asyncapi);
  });
  return router;
}

/** Both documents for a gateway with this configuration: what it serves, and what docs/ holds for the defaults. */
export function apiDocuments(config: Config, processors: readonly ProcessorDescriptor[]): { openapi: Json; asyncapi: Json } {
  return {
    openapi: buildOpenApi({ basePath: config.basePath, processors, defaultProcessor: config.defaultProcessor, dashboard: config.dashboard }),
    asyncapi: buildAsyncApi(asyncApiOptions(config, processors)),
  };
}

/** What app.ts mounts under the base path. */
export function apiDocumentRoutes({ config, processors }: { config: Config; processors: readonly ProcessorDescriptor[] }): Router {
  const { openapi, asyncapi } = apiDocuments(config, processors);
  return openApiRoutes({ document: openapi, asyncapi });
}

import { linksFor } from '../../gateway/links.js';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { Express } from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../gateway/app.js';
import { API_SCHEMAS } from '../../gateway/docs/api-schemas.js';
import { LiveEvents } from '../../gateway/tasks/live-events.js';
import { createGatewayMetrics } from '../../gateway/metrics.js';
import { buildOpenApi } from '../../gateway/docs/openapi.js';
import { toStatusDocument } from '../../gateway/tasks/task-document.js';
import { volumeUploadStore } from '../../gateway/uploads/volume-store.js';
import { ASYNCAPI_PATH, OPENAPI_PATH, renderApiDocs } from '../../scripts/generate-api-docs.js';
import { asyncApiOptions, buildAsyncApi, toJsonSchema } from '../../gateway/docs/asyncapi.js';
import {
  BUILTIN_DESCRIPTORS,
  Broker,
  buildTopology,
  createLogger,
  eventRoutingKey,
  loadConfig,
  TaskEvent,
  TaskMessage,
  type Config,
} from '../../shared/index.js';
import type { TaskRecord, TaskStore } from '../../gateway/store/index.js';
import { documentedRoutes, OpenApiValidator, resolveRef, servedRoutes } from '../support/api-docs.js';

type Json = Record<string, unknown>;

const logger = createLogger('test', 'silent');
const brokers: Broker[] = [];

afterAll(async () => {
  await Promise.all(brokers.map((broker) => broker.close()));
});

/**
 * The app as main.ts builds it, minus I/O. The broker is real but points at a port nothing listens
 * on and is never awaited: building the app only keeps the reference. The store is a stub for the
 * same reason — no handler runs while the routes are walked (the served-document check below only
 * reaches routes that never touch it).
 */
function gateway(env: Record<string, string> = {}): { app: Express; config: Config } {
  const config = loadConfig({ ...env, AMQP_URL: 'amqp://127.0.0.1:1' });
  const processors = BUILTIN_DESCRIPTORS;
  const names = processors.map((p) => p.name);
  const topology = buildTopology({ prefix: 'docs-test', processors: names, taskQueueMaxLength: 1, deliveryLimit: 1 });
  const broker = new Broker({ urls: config.amqpUrls, topology, role: 'test', logger, publishTimeoutMs: 100 });
  brokers.push(broker);
  const store = {} as TaskStore;
  const live = new LiveEvents(store, logger);
  const metrics = createGatewayMetrics({ processors: names, defaultMetrics: false });
  const uploads = volumeUploadStore(config.dataDir);
  return { app: createGateway({ config, store, broker, processors, logger, live, metrics, uploads }), config };
}

function openApiFor(config: Config): Json {
  return buildOpenApi({ basePath: config.basePath, processors: BUILTIN_DESCRIPTORS, defaultProcessor: config.defaultProcessor, dashboard: config.dashboard });
}

describe('the OpenAPI document', () => {
  const { app, config } = gateway();
  const document = openApiFor(config);

  it('is valid OpenAPI 3.1', async () => {
    // validate() dereferences in place: give it a copy.
    const api = (await SwaggerParser.validate(structuredClone(document) as never)) as unknown as Json;
    expect(api.openapi).toBe('3.1.0');
    // The validator does not check that path templates have their parameters; this does.
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, { parameters?: Json[] }>>)) {
      for (const [method, operation] of Object.entries(item).filter(([key]) => key !== 'servers')) {
        const declared = (operation.parameters ?? [])
          .map((p) => (typeof p.$ref === 'string' ? (resolveRef(document, p.$ref) as Json) : p))
          .filter((p) => p.in === 'path');
        expect(declared.map((p) => p.name).sort(), `${method} ${path}`).toEqual([...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort());
      }
    }
  });

  for (const [name, env] of Object.entries<Record<string, string>>({
    'the default configuration': {},
    'an empty BASE_PATH and the dashboard off': { BASE_PATH: '', DASHBOARD: 'off' },
    'another BASE_PATH': { BASE_PATH: '/api/v2' },
  })) {
    it(`lists exactly the routes the app serves, with ${name}`, () => {
      const built = gateway(env);
      // A new route without documentation, or documentation of a route that is gone, fails here.
      expect(documentedRoutes(openApiFor(built.config))).toEqual(servedRoutes(built.app));
    });
  }

  it('publishes the schemas the code is typed by', () => {
    const schemas = (document.components as { schemas: Json }).schemas;
    for (const [name, schema] of Object.entries(API_SCHEMAS)) expect(schemas[name]).toEqual(toJsonSchema(schema));
  });

  it('has schemas Ajv compiles strictly, and a status document from the code fits its schema', () => {
    const validator = new OpenApiValidator(document);
    for (const name of Object.keys((document.components as { schemas: Json }).schemas)) validator.validator({ $ref: `#/components/schemas/${name}` });
    const record: TaskRecord = {
      id: '0b7e4d3c-6a3e-4c55-9b56-1f0d8a8d9c11',
      processor: 'thumbnail',
      status: 'SUCCESS',
      attempt: 1,
      progress: 1,
      progressMessage: null,
      error: null,
      artifacts: [{ name: 'thumb.webp', content_type: 'image/webp', size: 10, location: 'volume:artifacts/x/thumb.webp' }],
      createdAt: 1_700_000_000_000,
      startedAt: 1_700_000_001_000,
      finishedAt: 1_700_000_002_000,
      updatedAt: 1_700_000_002_000,
      expiredAt: null,
      owner: null,
      deliveryTargets: 0,
    };
    const validate = validator.validator(resolveRef(document, '#/paths/~1task_status~1{id}/get/responses/200/content/application~1json/schema'));
    const delivery = {
      taskId: record.id,
      targetId: 'webhook',
      target: { kind: 'webhook' as const, url: 'https://example.com/hook', events: ['completed' as const] },
      state: 'DELIVERED' as const,
      round: 1,
      deliveryId: '5b0e5a35-3b5c-4a6e-8d8c-2f2e3f4a5b6c',
      attempts: 2,
      lastError: null,
      lastHttpStatus: 200,
      location: 'https://example.com/hook',
      nextAttemptAt: null,
      enqueuedAt: 1_700_000_002_100,
      deliveredAt: 1_700_000_003_000,
      updatedAt: 1_700_000_003_000,
      noticeUntil: null,
    };
    expect(validate(toStatusDocument(record, linksFor('/prediction'), [delivery])), JSON.stringify(validate.errors)).toBe(true);
  });

  it('offers one submission branch per processor, with its fields and `processor`', () => {
    type Body = { content: Record<string, { schema: { oneOf: Json[] } }> };
    const { content } = (document.components as { requestBodies: Record<string, Body> }).requestBodies.Submission!;
    for (const body of [content['application/json']!.schema, content['multipart/form-data']!.schema]) {
      expect(body.oneOf.map((branch) => branch.title)).toEqual(BUILTIN_DESCRIPTORS.map((p) => p.name));
      for (const [index, processor] of BUILTIN_DESCRIPTORS.entries()) {
        const branch = body.oneOf[index] as { properties: Json; required?: string[] };
        expect(branch.properties.processor).toMatchObject({ const: processor.name });
        for (const field of Object.keys(processor.fields.properties)) expect(branch.properties).toHaveProperty(field);
        expect(branch.required?.includes('processor') ?? false).toBe(processor.name !== config.defaultProcessor);
      }
    }
  });

  it('is what the gateway serves at {base}/openapi.json and {base}/asyncapi.json', async () => {
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${config.basePath}`;
      const served = await fetch(`${base}/openapi.json`);
      expect(served.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await served.json()).toEqual(document);
      const asyncapi = await fetch(`${base}/asyncapi.json`);
      expect(await asyncapi.json()).toEqual(buildAsyncApi(asyncApiOptions(config, BUILTIN_DESCRIPTORS)));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('the AsyncAPI document', () => {
  const options = { prefix: 'warren', processors: BUILTIN_DESCRIPTORS, taskQueueMaxLength: 1000, deliveryLimit: 7, retryDelaysMs: [1000, 5000] };
  const document = buildAsyncApi(options) as {
    asyncapi: string;
    info: Json;
    servers: Record<string, Json>;
    channels: Record<string, Json & { address: string | null; bindings: { amqp: Json }; messages: Record<string, { $ref: string }> }>;
    operations: Record<string, { action: string; channel: { $ref: string }; messages: { $ref: string }[] }>;
    components: { messages: Record<string, { payload: { $ref?: string } }> };
  };
  // With a Celery queue: the document always describes the Celery bridge's reply queue, which
  // gateways declare once some processor is served by Celery workers.
  const topology = buildTopology({ ...options, processors: BUILTIN_DESCRIPTORS.map((p) => p.name), celeryQueues: ['celery'] });

  it('has the required structure of AsyncAPI 3.0', () => {
    expect(document.asyncapi).toBe('3.0.0');
    expect(document.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    for (const server of Object.values(document.servers)) expect(server).toMatchObject({ host: expect.any(String), protocol: 'amqp' });
    // Every reference resolves, and every operation's messages belong to its channel.
    for (const [name, operation] of Object.entries(document.operations)) {
      expect(['send', 'receive'], name).toContain(operation.action);
      resolveRef(document, operation.channel.$ref);
      for (const message of operation.messages) {
        expect(message.$ref.startsWith(`${operation.channel.$ref}/messages/`), name).toBe(true);
        resolveRef(document, message.$ref);
      }
    }
    for (const channel of Object.values(document.channels)) for (const message of Object.values(channel.messages)) resolveRef(document, message.$ref);
  });

  it('carries the message contracts themselves as payloads', () => {
    const payload = (name: string): unknown => resolveRef(document, document.components.messages[name]!.payload.$ref!);
    expect(payload('TaskMessage')).toEqual(toJsonSchema(TaskMessage));
    expect(payload('TaskEvent')).toEqual(toJsonSchema(TaskEvent));
  });

  it('describes every exchange and queue buildTopology declares, with its arguments', () => {
    for (const processor of BUILTIN_DESCRIPTORS) {
      const routing = document.channels[`tasks.${processor.name}`]!;
      expect(routing.address).toBe(processor.name);
      expect(routing.bindings.amqp).toMatchObject({ is: 'routingKey', exchange: { name: topology.exchanges.tasks, type: 'direct' } });
    }
    const queues = Object.values(document.channels).filter((channel) => channel.bindings.amqp.is === 'queue');
    expect(queues.map((channel) => channel.address).sort()).toEqual(topology.declare.queues.map((queue) => queue.name).sort());
    for (const spec of topology.declare.queues) {
      const channel = queues.find((candidate) => candidate.address === spec.name)!;
      expect(channel['x-queue-arguments']).toEqual(spec.options.arguments);
    }
    const exchanges = Object.values(document.channels).filter((channel) => channel.bindings.amqp.is === 'routingKey');
    for (const spec of topology.declare.exchanges) {
      expect(
        exchanges.some((channel) => (channel.bindings.amqp.exchange as Json).name === spec.name && (channel.bindings.amqp.exchange as Json).type === spec.type),
      ).toBe(true);
    }
    expect(eventRoutingKey('SUCCESS', 'echo')).toBe(document.channels.events!.address!.replace('{status}', 'success').replace('{processor}', 'echo'));
  });
});

describe('docs/openapi.json and docs/asyncapi.json', () => {
  it('equal what the code generates (regenerate: npx tsx scripts/generate-api-docs.ts)', () => {
    const generated = renderApiDocs();
    expect(readFileSync(OPENAPI_PATH, 'utf8')).toBe(generated.openapi);
    expect(readFileSync(ASYNCAPI_PATH, 'utf8')).toBe(generated.asyncapi);
  });
});

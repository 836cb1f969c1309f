import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Express } from 'express';

/**
 * Helpers to hold the gateway to its published documents: walk the Express app for the routes it
 * really serves, and validate answers with Ajv against the OpenAPI document's own schemas.
 */
type Json = Record<string, unknown>;

// ajv-formats is CommonJS with a default export; under NodeNext its type is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** `METHOD /full/path` with OpenAPI templates (`{id}`), for every route and static mount of the app. */
export function servedRoutes(app: Express): string[] {
  const router = (app as unknown as { router: { stack: Layer[] } }).router;
  return [...new Set(walk(router.stack, ''))].sort();
}

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle: { stack?: Layer[]; length: number; name?: string };
  rawPath?: unknown;
}

function walk(stack: readonly Layer[], prefix: string): string[] {
  return stack.flatMap((layer): string[] => {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      const methods = Object.keys(layer.route.methods).filter((method) => method !== '_all');
      return paths.flatMap((path) => methods.map((method) => `${method.toUpperCase()} ${toTemplate(join(prefix, path))}`));
    }
    const mount = typeof layer.rawPath === 'string' ? layer.rawPath : '/';
    if (layer.handle.stack) return walk(layer.handle.stack, join(prefix, mount));
    // Other middleware passes requests on (helmet, logs, metrics, error handlers); of the mounted
    // kind, only a static file server answers, under its mount.
    if (layer.handle.name === 'serveStatic') return [`GET ${toTemplate(join(prefix, mount))}/{file}`];
    return [];
  });
}

function join(prefix: string, path: string): string {
  if (path === '/' || path === '') return prefix;
  return `${prefix.replace(/\/$/, '')}${path}`;
}

/** Express 5 parameters (`:id`, `*rest`) as OpenAPI templates. */
function toTemplate(path: string): string {
  return (path || '/').replace(/[:*](\w+)/g, '{$1}');
}

/** Every `METHOD /full/path` an OpenAPI document lists, with its server URL (or a path's own) prepended. */
export function documentedRoutes(document: Json): string[] {
  const base = serverPath((document.servers as { url: string }[])[0]!.url);
  const methods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
  return Object.entries(document.paths as Record<string, Json>)
    .flatMap(([path, item]) => {
      const servers = item.servers as { url: string }[] | undefined;
      const prefix = servers ? serverPath(servers[0]!.url) : base;
      return Object.keys(item)
        .filter((key) => methods.has(key))
        .map((method) => `${method.toUpperCase()} ${prefix}${path}`);
    })
    .sort();
}

function serverPath(url: string): string {
  return url.replace(/\/$/, '');
}

/** The node a local `$ref` (`#/a/b`) points at. */
export function resolveRef(document: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`not a local ref: ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => {
      if (typeof node !== 'object' || node === null || !(key in node)) throw new Error(`dangling ref ${ref} (at ${key})`);
      return (node as Json)[key];
    }, document);
}

/**
 * Published schemas leave objects open, so that clients tolerate fields added later. To catch a
 * field the code sends but the document does not describe, the tests close every object that
 * lists its properties and says nothing about others.
 */
export function closeObjects(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy: Json = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, key === 'const' || key === 'enum' ? value : closeObjects(value)]));
  if (copy.properties !== undefined && !('additionalProperties' in copy)) copy.additionalProperties = false;
  return copy;
}

const DOC_ID = 'https://warren.test/openapi';

/**
 * Validates answers against an OpenAPI document: `check(path, method, response, body)` fails when
 * the status or content type is not documented for that operation, or the JSON body does not fit
 * the documented (closed) schema.
 */
export class OpenApiValidator {
  private readonly ajv = addFormats(new Ajv2020({ allErrors: true, strict: true, strictTypes: false }));
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly document: Json) {
    const schemas = (document.components as { schemas: Json }).schemas;
    this.ajv.addSchema({ $id: DOC_ID, $defs: rewriteRefs(closeObjects(schemas)) });
  }

  /** The operation's answer for this status: throws if the document does not list it. */
  response(path: string, method: string, status: number): Json {
    const operation = (this.document.paths as Record<string, Record<string, Json>>)[path]?.[method];
    if (!operation) throw new Error(`${method.toUpperCase()} ${path} is not documented`);
    const responses = operation.responses as Record<string, Json>;
    let answer = responses[String(status)] ?? responses.default;
    if (!answer) throw new Error(`${method.toUpperCase()} ${path} answered ${status}, which the document does not list (${Object.keys(responses).join(', ')})`);
    if (typeof answer.$ref === 'string') answer = resolveRef(this.document, answer.$ref) as Json;
    return answer;
  }

  /** Throws with Ajv's errors unless the answer is documented and its JSON body fits. */
  check(path: string, method: string, response: Response, body?: unknown): void {
    const answer = this.response(path, method, response.status);
    const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const content = answer.content as Record<string, { schema?: unknown }> | undefined;
    if (!content) {
      if (type && response.status !== 304)
        throw new Error(`${method.toUpperCase()} ${path} ${response.status} is documented without content, but sent ${type}`);
      return;
    }
    const media = content[type] ?? content['*/*'];
    if (!media) throw new Error(`${method.toUpperCase()} ${path} ${response.status} sent ${type}; documented: ${Object.keys(content).join(', ')}`);
    if (type !== 'application/json' || media.schema === undefined) return;
    const validate = this.validator(media.schema);
    if (!validate(body)) {
      throw new Error(
        `${method.toUpperCase()} ${path} ${response.status} does not fit its schema: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
      );
    }
  }

  validator(schema: unknown): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(rewriteRefs(closeObjects(schema)) as Json);
      this.compiled.set(key, validate);
    }
    return validate;
  }
}

/** `#/components/schemas/X` → the copy of X registered with Ajv. */
function rewriteRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rewriteRefs);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' ? value.replace('#/components/schemas/', `${DOC_ID}#/$defs/`) : rewriteRefs(value),
    ]),
  );
}

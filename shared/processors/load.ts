import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kind } from '@sinclair/typebox';
import { ConfigError } from '../errors.js';
import type { Processor, ProcessorDescriptor } from '../processor.js';
import { fieldsFromJsonSchema, SchemaProblem } from './json-schema.js';

const NAME = /^[a-z][a-z0-9_-]{0,63}$/;
const MODULE_FILE = /\.(mjs|js|ts|mts)$/;

/**
 * Your own processors: every module in PROCESSORS_DIR whose default export is a Processor. The
 * gateway loads them for their descriptors (so it validates submissions); the worker also runs
 * them. Importing a module must be cheap — load models in `setup()`, which only workers call.
 */
export async function loadProcessorDir(dir: string): Promise<Processor[]> {
  let entries: string[];
  try {
    entries = fs
      .readdirSync(dir)
      .filter((file) => MODULE_FILE.test(file) && !file.endsWith('.d.ts'))
      .sort();
  } catch (err) {
    throw new ConfigError('PROCESSORS_DIR', `cannot read ${dir}: ${(err as Error).message}`);
  }
  const processors: Processor[] = [];
  for (const file of entries) {
    const module = (await import(pathToFileURL(path.join(dir, file)).href)) as { default?: unknown };
    processors.push(checkProcessor(module.default, file));
  }
  return processors;
}

function checkProcessor(value: unknown, file: string): Processor {
  const problem = (what: string): never => {
    throw new ConfigError('PROCESSORS_DIR', `${file}: the default export ${what}`);
  };
  if (typeof value !== 'object' || value === null) return problem('must be a processor object');
  const candidate = value as Partial<Processor>;
  if (typeof candidate.name !== 'string' || !NAME.test(candidate.name)) problem('needs a name of lower-case letters, digits, "_" or "-"');
  if (typeof candidate.version !== 'string' || candidate.version === '') problem('needs a version');
  if (typeof candidate.description !== 'string') problem('needs a description');
  // TypeBox schemas, not bare JSON Schema: the gateway compiles them into its validators.
  if (
    typeof candidate.fields !== 'object' ||
    candidate.fields === null ||
    !(Kind in candidate.fields) ||
    (candidate.fields as { type?: unknown }).type !== 'object'
  ) {
    problem('needs `fields`, a JSON Schema object (e.g. Type.Object({...}) from @sinclair/typebox)');
  }
  const batching = candidate.batch !== undefined || candidate.runBatch !== undefined;
  if (batching) {
    const batch = candidate.batch as { maxSize?: unknown; maxWaitMs?: unknown } | undefined;
    if (typeof candidate.runBatch !== 'function' || typeof batch !== 'object' || batch === null)
      problem('needs both `batch: { maxSize, maxWaitMs }` and an async runBatch(inputs, ctxs) to batch');
    if (!Number.isInteger(batch!.maxSize) || (batch!.maxSize as number) < 1 || (batch!.maxSize as number) > 1000)
      problem('has a batch.maxSize that is not a whole number from 1 to 1000');
    if (!Number.isInteger(batch!.maxWaitMs) || (batch!.maxWaitMs as number) < 0 || (batch!.maxWaitMs as number) > 60_000)
      problem('has a batch.maxWaitMs that is not a whole number from 0 to 60000');
    // One task on its own is a batch of one: a batching processor need not write run as well.
    if (typeof candidate.run !== 'function') {
      const runBatch = candidate.runBatch!.bind(candidate);
      candidate.run = async (input, ctx) => {
        const [result] = await runBatch([input], [ctx]);
        if (result instanceof Error) throw result;
        return result;
      };
    }
  }
  if (typeof candidate.run !== 'function') problem('needs an async run(input, ctx)');
  // It becomes a channel's prefetch, where anything but a whole number ≥ 1 breaks the consumer.
  if (candidate.concurrency !== undefined && !(Number.isInteger(candidate.concurrency) && candidate.concurrency >= 1)) {
    problem('has a concurrency that is not a whole number of at least 1');
  }
  return candidate as Processor;
}

/**
 * Every processor PROCESSORS_DIR describes, for the gateway: the modules' descriptors, and the
 * processors described by data alone — `<name>.json`, for a model served by a worker in another
 * language (the Python SDK) or by an existing Celery worker (`celery`), whose code the gateway
 * never loads. The worker loads only the modules (loadProcessorDir): it has nothing to run for a
 * JSON descriptor.
 */
export async function loadProcessorDescriptors(dir: string): Promise<ProcessorDescriptor[]> {
  const modules: ProcessorDescriptor[] = await loadProcessorDir(dir);
  const described = fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => checkDescriptor(readJson(path.join(dir, file), file), file));
  return mergeProcessors(modules, described);
}

function readJson(file: string, name: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new ConfigError('PROCESSORS_DIR', `${name}: not JSON (${(err as Error).message})`);
  }
}

const DESCRIPTOR_KEYS = new Set(['name', 'version', 'description', 'fields', 'files', 'timeoutMs', 'maxAttempts', 'concurrency', 'celery']);
/** A queue name an AMQP client may declare: printable, no spaces, at most 255 bytes, not amq.* (reserved). */
const QUEUE_NAME = /^(?!amq\.)[!-~]{1,255}$/;
const TASK_NAME = /^[A-Za-z_][\w.:-]{0,254}$/;

function checkDescriptor(value: unknown, file: string): ProcessorDescriptor {
  const problem = (what: string): never => {
    throw new ConfigError('PROCESSORS_DIR', `${file}: ${what}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return problem('must be a JSON object');
  const json = value as Record<string, unknown>;
  const unknown = Object.keys(json).filter((key) => !DESCRIPTOR_KEYS.has(key));
  if (unknown.length > 0) problem(`unknown ${unknown.length === 1 ? 'key' : 'keys'} ${unknown.map((key) => `"${key}"`).join(', ')}`);
  const { name, version, description, files, timeoutMs, maxAttempts, concurrency, celery } = json;
  if (typeof name !== 'string' || !NAME.test(name)) problem('"name" must be lower-case letters, digits, "_" or "-"');
  if (file !== `${name as string}.json`) problem(`is named after another processor: it describes "${name as string}", so call it ${name as string}.json`);
  if (typeof version !== 'string' || version === '') problem('"version" must be a non-empty string');
  if (typeof description !== 'string') problem('"description" must be a string');
  let fields;
  try {
    fields = fieldsFromJsonSchema(json.fields ?? { type: 'object' });
  } catch (err) {
    if (err instanceof SchemaProblem) return problem(err.message);
    throw err;
  }
  const wholeNumber = (key: string, number: unknown, min: number): void => {
    if (number !== undefined && !(Number.isInteger(number) && (number as number) >= min)) problem(`"${key}" must be a whole number of at least ${min}`);
  };
  wholeNumber('timeoutMs', timeoutMs, 100);
  wholeNumber('maxAttempts', maxAttempts, 1);
  wholeNumber('concurrency', concurrency, 1);
  if (files !== undefined) checkFiles(files, problem);
  if (celery !== undefined) {
    const target = celery as { task?: unknown; queue?: unknown };
    if (typeof celery !== 'object' || celery === null || Object.keys(celery).some((key) => key !== 'task' && key !== 'queue'))
      problem('"celery" must be {"task": …, "queue": …}');
    if (typeof target.task !== 'string' || !TASK_NAME.test(target.task)) problem('"celery.task" must name a Celery task, e.g. "tasks.elab_file"');
    if (target.queue !== undefined && (typeof target.queue !== 'string' || !QUEUE_NAME.test(target.queue))) problem('"celery.queue" must be a queue name');
    // A Celery task gets its input files as the `files` kwarg (gateway/celery/task-message.ts): a field of that name would be overwritten.
    if (files !== undefined && 'files' in fields.properties)
      problem('"fields" has "files", the keyword argument a Celery task gets its input files in: rename the field');
  }
  return {
    name: name as string,
    version: version as string,
    description: description as string,
    fields,
    ...(files === undefined ? {} : { files: files as ProcessorDescriptor['files'] }),
    ...(timeoutMs === undefined ? {} : { timeoutMs: timeoutMs as number }),
    ...(maxAttempts === undefined ? {} : { maxAttempts: maxAttempts as number }),
    ...(concurrency === undefined ? {} : { concurrency: concurrency as number }),
    ...(celery === undefined ? {} : { celery: { task: (celery as { task: string }).task, queue: (celery as { queue?: string }).queue ?? 'celery' } }),
  };
}

function checkFiles(files: unknown, problem: (what: string) => never): void {
  const spec = files as Record<string, unknown>;
  if (typeof files !== 'object' || files === null || Array.isArray(files)) problem('"files" must be an object');
  const { accept, minCount, maxCount, maxBytes } = spec;
  if (!Array.isArray(accept) || accept.length === 0 || accept.some((type) => typeof type !== 'string' || !/^[a-z]+\/[\w.+-]+$/.test(type)))
    problem('"files.accept" must list MIME types');
  if (!Number.isInteger(minCount) || (minCount as number) < 0) problem('"files.minCount" must be a whole number of at least 0');
  if (!Number.isInteger(maxCount) || (maxCount as number) < Math.max(1, minCount as number))
    problem('"files.maxCount" must be a whole number of at least 1 and of minCount');
  if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && (maxBytes as number) >= 1)) problem('"files.maxBytes" must be a whole number of at least 1');
  const unknown = Object.keys(spec).filter((key) => !['accept', 'minCount', 'maxCount', 'maxBytes'].includes(key));
  if (unknown.length > 0) problem(`"files": unknown ${unknown.map((key) => `"${key}"`).join(', ')}`);
}

/** Built-ins plus your own, refusing two processors of one name. */
export function mergeProcessors<T extends { name: string }>(builtIn: readonly T[], custom: readonly T[]): T[] {
  const seen = new Set(builtIn.map((p) => p.name));
  for (const processor of custom) {
    if (seen.has(processor.name)) throw new ConfigError('PROCESSORS_DIR', `processor "${processor.name}" is defined twice`);
    seen.add(processor.name);
  }
  return [...builtIn, ...custom];
}

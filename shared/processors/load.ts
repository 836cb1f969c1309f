import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kind } from '@sinclair/typebox';
import { ConfigError } from '../errors.js';
import type { Processor } from '../processor.js';

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
    entries = fs.readdirSync(dir).filter((file) => MODULE_FILE.test(file) && !file.endsWith('.d.ts')).sort();
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
  if (typeof candidate.fields !== 'object' || candidate.fields === null || !(Kind in candidate.fields) || (candidate.fields as { type?: unknown }).type !== 'object') {
    problem('needs `fields`, a JSON Schema object (e.g. Type.Object({...}) from @sinclair/typebox)');
  }
  if (typeof candidate.run !== 'function') problem('needs an async run(input, ctx)');
  // It becomes a channel's prefetch, where anything but a whole number ≥ 1 breaks the consumer.
  if (candidate.concurrency !== undefined && !(Number.isInteger(candidate.concurrency) && candidate.concurrency >= 1)) {
    problem('has a concurrency that is not a whole number of at least 1');
  }
  return candidate as Processor;
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

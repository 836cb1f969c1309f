import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { ProcessorDescriptor } from '../../shared/index.js';
import { DELIVERY_KEYS } from './delivery-targets.js';
import { HttpError } from '../http/http-errors.js';

/**
 * Turns a submission body (urlencoded, multipart fields or JSON — all flat objects by now) into a
 * processor and its validated fields, or a 4xx that says exactly what is wrong. Everything that
 * reaches the queue has passed the processor's own field schema.
 */
export interface Submission {
  processor: ProcessorDescriptor;
  fields: Record<string, unknown>;
}

/** Form bodies carry strings only (a repeated key is a mistake); JSON bodies may carry any JSON value. */
export type BodySource = 'form' | 'json';

export interface SubmissionLimits {
  defaultProcessor: string;
  maxFieldBytes: number;
  maxFields: number;
}

/** Keys of the body that steer warren rather than being the processor's fields. */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['processor', ...DELIVERY_KEYS]);
const FIELD_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export class SubmissionParser {
  private readonly processors: Map<string, { descriptor: ProcessorDescriptor; check: TypeCheck<ProcessorDescriptor['fields']> }>;

  constructor(
    descriptors: readonly ProcessorDescriptor[],
    private readonly limits: SubmissionLimits,
  ) {
    this.processors = new Map(descriptors.map((descriptor) => [descriptor.name, { descriptor, check: TypeCompiler.Compile(descriptor.fields) }]));
  }

  names(): string[] {
    return [...this.processors.keys()];
  }

  parse(body: unknown, source: BodySource = 'json'): Submission {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new HttpError(400, 'invalid_body', 'the body must be an object of fields (form fields or a JSON object)');
    }
    const entries = Object.entries(body as Record<string, unknown>);
    if (entries.filter(([name]) => !RESERVED_KEYS.has(name)).length > this.limits.maxFields) {
      throw new HttpError(413, 'too_many_fields', `at most ${this.limits.maxFields} fields are accepted`);
    }

    const requested = (body as Record<string, unknown>).processor ?? this.limits.defaultProcessor;
    if (typeof requested !== 'string' || requested === '') {
      throw new HttpError(400, 'invalid_processor', '"processor" must be a processor name');
    }
    const processor = this.processors.get(requested);
    if (!processor) {
      throw new HttpError(400, 'unknown_processor', `unknown processor "${requested.slice(0, 64)}"; known: ${this.names().join(', ')}`);
    }

    const fields: Record<string, unknown> = {};
    const required = new Set(processor.descriptor.fields.required ?? []);
    for (const [name, value] of entries) {
      if (RESERVED_KEYS.has(name)) continue;
      // A browser sends every input, filled or not: an empty optional field was not given.
      if (source === 'form' && value === '' && !required.has(name)) continue;
      if (!FIELD_NAME.test(name)) {
        throw new HttpError(400, 'invalid_field_name', `field names are 1-128 letters, digits, "_", "." or "-"; got "${printable(name)}"`);
      }
      fields[name] = this.checkValue(name, value, source);
    }

    // Form fields are strings; the schema says which are numbers or booleans.
    const converted = Value.Convert(processor.descriptor.fields, fields);
    if (!processor.check.Check(converted)) {
      const problems = [...processor.check.Errors(converted)].slice(0, 5).map((e) => `${e.path.slice(1) || 'fields'}: ${e.message}`);
      throw new HttpError(400, 'invalid_fields', `fields do not fit processor "${processor.descriptor.name}": ${problems.join('; ')}`, {
        problems,
      });
    }
    return { processor: processor.descriptor, fields: converted as Submission['fields'] };
  }

  private checkValue(name: string, value: unknown, source: BodySource): unknown {
    if (source === 'form' && Array.isArray(value)) throw new HttpError(400, 'repeated_field', `field "${name}" was given more than once`);
    // Structured values are the processor schema's business; their size and depth are ours (the
    // schema check, the fingerprint and the store all walk them recursively).
    if (deeperThan(value, MAX_FIELD_DEPTH)) {
      throw new HttpError(400, 'invalid_fields', `field "${name}" is nested deeper than ${MAX_FIELD_DEPTH} levels`);
    }
    const size =
      typeof value === 'string' ? Buffer.byteLength(value) : value !== null && typeof value === 'object' ? Buffer.byteLength(JSON.stringify(value)) : 0;
    if (size > this.limits.maxFieldBytes) {
      throw new HttpError(413, 'field_too_large', `field "${name}" is larger than ${this.limits.maxFieldBytes} bytes`);
    }
    return value;
  }
}

/** Levels of arrays and objects a structured field value may have. */
const MAX_FIELD_DEPTH = 32;

/** Whether `value` nests arrays/objects more than `limit` levels deep; iterative, so any depth is safe to ask about. */
function deeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(item)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

function printable(text: string): string {
  return text.slice(0, 64).replace(/[^\x20-\x7e]/g, '?');
}

import { Type, type TObject, type TSchema } from '@sinclair/typebox';

/**
 * A processor described by data (`<name>.json` in PROCESSORS_DIR: a model served by a Python or
 * Celery worker, whose code the gateway never loads) gives its fields as plain JSON Schema. The
 * gateway validates every submission with TypeBox, so that schema is rebuilt here as TypeBox —
 * the same validator, form conversion and published schema as for built-ins. The subset is what
 * a form field can be: objects of strings, numbers, integers, booleans, enums and arrays of them,
 * with their bounds, patterns, defaults and descriptions. Anything else is refused, naming where
 * it stands, rather than validated loosely.
 */
export class SchemaProblem extends Error {}

const ANNOTATIONS = ['title', 'description', 'default', 'examples'] as const;
const KEYWORDS: Record<string, readonly string[]> = {
  object: ['type', 'properties', 'required', 'additionalProperties', ...ANNOTATIONS],
  string: ['type', 'minLength', 'maxLength', 'pattern', 'format', 'enum', ...ANNOTATIONS],
  number: ['type', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'enum', ...ANNOTATIONS],
  integer: ['type', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'enum', ...ANNOTATIONS],
  boolean: ['type', ...ANNOTATIONS],
  array: ['type', 'items', 'minItems', 'maxItems', 'uniqueItems', ...ANNOTATIONS],
};

type Json = Record<string, unknown>;

function pick(schema: Json, keys: readonly string[]): Json {
  return Object.fromEntries(keys.filter((key) => key !== 'type' && schema[key] !== undefined).map((key) => [key, schema[key]]));
}

function convert(schema: unknown, at: string): TSchema {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new SchemaProblem(`${at} must be a JSON Schema object`);
  const json = schema as Json;
  const type = json.type;
  if (typeof type !== 'string' || !(type in KEYWORDS)) throw new SchemaProblem(`${at}: "type" must be one of ${Object.keys(KEYWORDS).join(', ')}`);
  const unknown = Object.keys(json).filter((key) => !KEYWORDS[type]!.includes(key));
  if (unknown.length > 0) throw new SchemaProblem(`${at}: ${unknown.map((key) => `"${key}"`).join(', ')} not supported for a ${type}`);
  const options = pick(json, KEYWORDS[type]!);
  if (json.enum !== undefined && (!Array.isArray(json.enum) || json.enum.length === 0)) throw new SchemaProblem(`${at}: "enum" must be a non-empty array`);
  if (json.pattern !== undefined) {
    try {
      new RegExp(String(json.pattern), 'u');
    } catch {
      throw new SchemaProblem(`${at}: "pattern" is not a regular expression`);
    }
  }
  if (Array.isArray(json.enum)) {
    // TypeBox checks an enum as a union of literals (a String with `enum` would not be checked).
    const values = json.enum as unknown[];
    const fits = (value: unknown): boolean =>
      type === 'string'
        ? typeof value === 'string'
        : type === 'boolean'
          ? typeof value === 'boolean'
          : typeof value === 'number' && (type === 'number' || Number.isInteger(value));
    if (!values.every(fits)) throw new SchemaProblem(`${at}: every "enum" value must be a ${type}`);
    const { enum: _enum, ...annotations } = options;
    return Type.Union(
      values.map((value) => Type.Literal(value as string | number | boolean)),
      annotations,
    );
  }
  switch (type) {
    case 'string':
      return Type.String(options);
    case 'number':
      return Type.Number(options);
    case 'integer':
      return Type.Integer(options);
    case 'boolean':
      return Type.Boolean(options);
    case 'array':
      return Type.Array(convert(json.items, `${at}.items`), options);
    default:
      return object(json, at, options);
  }
}

function object(json: Json, at: string, options: Json): TObject {
  const properties = json.properties ?? {};
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) throw new SchemaProblem(`${at}: "properties" must be an object`);
  const required = json.required ?? [];
  if (!Array.isArray(required) || required.some((name) => typeof name !== 'string' || !(name in properties))) {
    throw new SchemaProblem(`${at}: "required" must list names of "properties"`);
  }
  const fields = Object.fromEntries(
    Object.entries(properties as Json).map(([name, property]) => {
      const converted = convert(property, `${at}.properties.${name}`);
      return [name, required.includes(name) ? converted : Type.Optional(converted)];
    }),
  );
  const { additionalProperties } = json;
  const extra =
    additionalProperties === undefined || typeof additionalProperties === 'boolean'
      ? additionalProperties
      : convert(additionalProperties, `${at}.additionalProperties`);
  const { required: _required, properties: _properties, additionalProperties: _additional, ...rest } = options;
  return Type.Object(fields, { ...rest, ...(extra === undefined ? {} : { additionalProperties: extra }) });
}

/** The `fields` of a JSON descriptor as TypeBox: an object schema, or a SchemaProblem naming the spot. */
export function fieldsFromJsonSchema(schema: unknown): TObject {
  const converted = convert(schema, 'fields');
  if ((converted as { type?: unknown }).type !== 'object') throw new SchemaProblem('fields: must be "type": "object"');
  return converted as TObject;
}

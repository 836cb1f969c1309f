/**
 * What `GET {base}/processors` lists for each processor, and what the upload page is built from.
 * Declared here rather than imported from shared/processor.ts because this is the JSON shape (after
 * a JSON round trip, limits resolved), not the TypeBox descriptor.
 */

/**
 * The part of JSON Schema the form understands. Processor field schemas come from TypeBox, so this
 * is what Type.String/Integer/Number/Boolean/Union/Literal/Array/Object/Optional produce; anything
 * else is still valid input and falls back to a text field.
 */
export interface JsonSchema {
  type?: string | readonly string[];
  title?: string;
  description?: string;
  default?: unknown;
  examples?: readonly unknown[];
  const?: unknown;
  enum?: readonly unknown[];
  anyOf?: readonly JsonSchema[];
  oneOf?: readonly JsonSchema[];
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
  items?: JsonSchema;
  properties?: Readonly<Record<string, JsonSchema>>;
  required?: readonly string[];
  additionalProperties?: boolean | JsonSchema;
}

/** A processor's `fields`: always an object schema (the processor loader insists on it). */
export interface JsonSchemaObject extends JsonSchema {
  type: 'object';
}

export interface CatalogFiles {
  /** MIME types, checked by sniffing on the server; also the file input's `accept`. */
  accept: readonly string[];
  minCount: number;
  maxCount: number;
  /** Largest single file, already capped by the gateway's MAX_UPLOAD_BYTES. */
  maxBytes: number;
}

export interface CatalogEntry {
  name: string;
  version: string;
  description: string;
  fields: JsonSchemaObject;
  /** Null when the processor takes no files. */
  files: CatalogFiles | null;
}

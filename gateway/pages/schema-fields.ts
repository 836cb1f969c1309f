import type { CatalogFiles, JsonSchema, JsonSchemaObject } from './catalog-entry.js';
import { escapeHtml } from './layout.js';

/**
 * Form controls from a processor's field schema (JSON Schema as TypeBox writes it). Pure: schema
 * in, HTML out. static/upload.js repeats these rules to rebuild the fields in place when the
 * processor changes; a change here belongs there too.
 */

export type FieldKind =
  | { kind: 'text'; multiline: boolean }
  | { kind: 'number'; integer: boolean }
  | { kind: 'checkbox' }
  | { kind: 'select'; options: { value: string; label: string }[] }
  /** Arrays, objects and unions with them: typed as JSON text, sent as is for the server to parse. */
  | { kind: 'json' };

/** The original system's two inputs, offered by processors that take free-form fields (echo). */
const ORIGINAL_LABELS: Readonly<Record<string, string>> = { item_a: 'Item A (e.g. product name)', item_b: 'Item B (e.g. brand)' };

/** With no maxLength to go by, these names suggest more than one line of text. */
const LONG_TEXT_NAME = /(^|_)(text|body|content|notes?|message|prompt|html|markdown|csv)($|_)/i;
const LONG_TEXT_LENGTH = 500;

export function fieldKind(name: string, schema: JsonSchema): FieldKind {
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) {
    // null among the choices is the empty "(default)" option.
    const choices = variants.filter((variant) => variant.type !== 'null');
    if (choices.length > 0 && choices.every((variant) => 'const' in variant)) {
      return { kind: 'select', options: choices.map((variant) => option(variant.const, variant.title)) };
    }
    if (variants.some((variant) => isStructured(variant))) return { kind: 'json' };
    return { kind: 'text', multiline: false };
  }
  if (schema.enum) return { kind: 'select', options: schema.enum.map((value) => option(value)) };
  if (isStructured(schema)) return { kind: 'json' };
  switch (schema.type) {
    case 'integer':
    case 'number':
      return { kind: 'number', integer: schema.type === 'integer' };
    case 'boolean':
      // An unchecked box sends nothing, so "false" could never override a default of true.
      return schema.default === true ? { kind: 'select', options: [option(true, 'Yes'), option(false, 'No')] } : { kind: 'checkbox' };
    default: {
      const multiline = schema.maxLength === undefined ? LONG_TEXT_NAME.test(name) : schema.maxLength > LONG_TEXT_LENGTH;
      return { kind: 'text', multiline };
    }
  }
}

export interface SchemaFieldOptions {
  /**
   * Offer the original form's item_a/item_b when the schema takes free-form fields
   * (additionalProperties) without declaring them — echo. The caller decides, because a processor
   * that takes a file may tolerate extra fields without wanting any (document).
   */
  originalItems?: boolean;
}

export function renderSchemaFields(schema: JsonSchemaObject, idPrefix: string, options: SchemaFieldOptions = {}): string {
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const html: string[] = [];
  const extra = schema.additionalProperties;
  if (options.originalItems && ((typeof extra === 'object' && extra !== null) || extra === true)) {
    for (const name of Object.keys(ORIGINAL_LABELS)) {
      if (!(name in properties)) html.push(renderField(name, { type: 'string' }, false, idPrefix));
    }
  }
  for (const [name, property] of Object.entries(properties)) html.push(renderField(name, property, required.has(name), idPrefix));
  return html.join('\n');
}

/**
 * A nullable X (X | null) is an X whose absence is spelled by leaving the field empty; the outer
 * schema's own title, description and default win over the inner one's.
 */
function unwrapNullable(schema: JsonSchema): JsonSchema {
  const variants = schema.anyOf ?? schema.oneOf;
  const nonNull = variants?.filter((variant) => variant.type !== 'null');
  if (!variants || !nonNull || nonNull.length !== 1 || nonNull.length === variants.length || 'const' in nonNull[0]!) return schema;
  const { anyOf: _anyOf, oneOf: _oneOf, ...outer } = schema;
  return { ...nonNull[0], ...outer };
}

function renderField(name: string, original: JsonSchema, required: boolean, idPrefix: string): string {
  const schema = unwrapNullable(original);
  const id = `${idPrefix}${name}`;
  const kind = fieldKind(name, schema);
  const hint = hintText(schema, kind);
  const hintId = `${id}-hint`;
  const common = { id, name, required, 'aria-describedby': hint ? hintId : undefined };
  const label = `<label for="${escapeHtml(id)}">${escapeHtml(labelOf(name, schema))}${required ? ' <span class="required-mark" aria-hidden="true">required</span>' : ''}</label>`;
  const hintHtml = hint
    ? `\n  <p id="${escapeHtml(hintId)}" class="hint">${kind.kind === 'json' ? '<span class="hint-tag">JSON</span> ' : ''}${escapeHtml(hint)}</p>`
    : '';

  if (kind.kind === 'checkbox') {
    return `<div class="field field--checkbox">
  <input type="checkbox"${attrs({ ...common, value: 'true', checked: schema.default === true })}>
  ${label}${hintHtml}
</div>`;
  }
  return `<div class="field">
  ${label}
  ${renderControl(kind, schema, common)}${hintHtml}
</div>`;
}

function renderControl(kind: FieldKind, schema: JsonSchema, common: Attributes): string {
  switch (kind.kind) {
    case 'select': {
      const chosen = schema.default === undefined ? undefined : String(schema.default);
      // An empty first choice: "not given" when optional, "pick one" (refused by `required`) otherwise.
      const empty = `<option value=""${chosen === undefined ? ' selected' : ''}>${common.required ? 'Choose…' : '(default)'}</option>`;
      const options = kind.options.map((o) => `<option${attrs({ value: o.value, selected: o.value === chosen })}>${escapeHtml(o.label)}</option>`);
      return `<select${attrs(common)}>${chosen === undefined ? empty : ''}${options.join('')}</select>`;
    }
    case 'number': {
      const step = schema.multipleOf ?? (kind.integer ? 1 : 'any');
      return `<input type="number"${attrs({ ...common, min: schema.minimum, max: schema.maximum, step, value: scalar(schema.default) })}>`;
    }
    case 'json':
      return `<textarea class="mono"${attrs({ ...common, rows: 6, spellcheck: 'false', placeholder: example(schema) })}>${escapeHtml(jsonText(schema.default))}</textarea>`;
    case 'text':
      if (kind.multiline) {
        const rows = schema.maxLength === undefined || schema.maxLength > 2000 ? 6 : 3;
        return `<textarea${attrs({ ...common, rows, minlength: schema.minLength, maxlength: schema.maxLength, placeholder: example(schema) })}>${escapeHtml(scalar(schema.default) ?? '')}</textarea>`;
      }
      return `<input type="${schema.format === 'email' ? 'email' : schema.format === 'uri' ? 'url' : 'text'}"${attrs({
        ...common,
        minlength: schema.minLength,
        maxlength: schema.maxLength,
        autocomplete: 'off',
        placeholder: example(schema),
        value: scalar(schema.default),
      })}>`;
    case 'checkbox':
      return ''; // rendered by renderField: the label goes after the box
  }
}

/** The description, plus the limits a reader cannot see from the control. */
function hintText(schema: JsonSchema, kind: FieldKind): string {
  const parts = schema.description ? [sentence(schema.description)] : [];
  if (kind.kind === 'number') {
    const { minimum: min, maximum: max } = schema;
    if (min !== undefined && max !== undefined) parts.push(`From ${number(min)} to ${number(max)}.`);
    else if (min !== undefined) parts.push(`At least ${number(min)}.`);
    else if (max !== undefined) parts.push(`At most ${number(max)}.`);
  } else if (kind.kind === 'text' && kind.multiline && schema.maxLength !== undefined) {
    parts.push(`Up to ${number(schema.maxLength)} characters.`);
  }
  return parts.join(' ');
}

export function labelOf(name: string, schema: JsonSchema): string {
  if (schema.title) return schema.title;
  const original = ORIGINAL_LABELS[name];
  if (original) return original;
  const words = name.replace(/[_.-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// Files

const TYPE_LABELS: Readonly<Record<string, string>> = {
  'application/pdf': 'PDF',
  'application/json': 'JSON',
  'text/csv': 'CSV',
  'text/plain': 'plain text',
  'text/markdown': 'Markdown',
  'text/html': 'HTML',
  'application/rtf': 'RTF',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'Word (DOCX)',
  'application/vnd.oasis.opendocument.text': 'OpenDocument text',
  'image/webp': 'WebP',
  'image/svg+xml': 'SVG',
};

export function typeLabel(mime: string): string {
  return TYPE_LABELS[mime] ?? (mime.startsWith('image/') ? mime.slice('image/'.length).toUpperCase() : mime);
}

/** "PNG, JPEG or GIF, at most 50 MB." — what the file input takes, in words. */
export function fileHint(files: CatalogFiles): string {
  const labels = files.accept.map(typeLabel);
  const types = labels.length === 0 ? 'Any type' : labels.length === 1 ? labels[0]! : `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)!}`;
  const size = `at most ${formatBytes(files.maxBytes)}`;
  if (files.maxCount <= 1) return `${types}, ${size}.`;
  const count = files.minCount > 1 ? `${files.minCount} to ${files.maxCount} files` : `Up to ${files.maxCount} files`;
  return `${count}: ${types}, ${size} each.`;
}

export function renderFileField(files: CatalogFiles, idPrefix: string): string {
  const id = `${idPrefix}file`;
  const required = files.minCount >= 1;
  const multiple = files.maxCount > 1;
  // data-max-*: upload.js checks these before sending, so a too-large file fails in a second, not after the upload.
  const input = `<input type="file"${attrs({
    id,
    name: 'file',
    accept: files.accept.length > 0 ? files.accept.join(',') : undefined,
    multiple,
    required,
    'aria-describedby': `${id}-hint`,
    'data-max-bytes': files.maxBytes,
    'data-max-count': files.maxCount,
  })}>`;
  return `<div class="field field--file">
  <label for="${escapeHtml(id)}">${multiple ? 'Files' : 'File'}${required ? ' <span class="required-mark" aria-hidden="true">required</span>' : ''}</label>
  ${input}
  <p id="${escapeHtml(id)}-hint" class="hint">${escapeHtml(fileHint(files))}</p>
</div>`;
}

/** 52428800 → "50 MB"; binary units, as upload limits are usually set. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = unit === 0 ? String(value) : String(Math.round(value * 10) / 10);
  return `${shown} ${units[unit]!}`;
}

// Helpers

type Attributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** ` name="value"` pairs, escaped; `true` gives a bare boolean attribute, false/undefined none. */
function attrs(attributes: Attributes): string {
  let html = '';
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    html += value === true ? ` ${key}` : ` ${key}="${escapeHtml(String(value))}"`;
  }
  return html;
}

function option(value: unknown, title?: string): { value: string; label: string } {
  return { value: String(value), label: title ?? String(value) };
}

function isStructured(schema: JsonSchema): boolean {
  const types = typeof schema.type === 'string' ? [schema.type] : (schema.type ?? []);
  return types.includes('array') || types.includes('object');
}

function scalar(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

function jsonText(value: unknown): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

function example(schema: JsonSchema): string | undefined {
  const first = schema.examples?.[0];
  return first === undefined ? undefined : typeof first === 'string' ? first : JSON.stringify(first);
}

function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

function number(n: number): string {
  return n.toLocaleString('en-US');
}

/* global document, window, fetch, URL */
// The processor chooser, and form fields from a processor's JSON Schema, for upload.js. The field
// rules repeat gateway/pages/schema-fields.ts, which renders the same fields on the server (the
// page as first served, and without JavaScript): change both together. Elements are built with
// the DOM API, so nothing from the catalog is ever parsed as HTML.

/**
 * Without JavaScript the "Use this processor" button reloads the page; here the fields are rebuilt
 * in place from the catalog, which is fetched once.
 */
export function setUpProcessorChooser(form, basePath, onSwitched) {
  const chooser = document.getElementById('processor-form');
  const select = document.getElementById('processor');
  const fieldsBox = document.getElementById('processor-fields');
  const current = form.querySelector('input[name="processor"]');
  if (!chooser || !select || !fieldsBox || !current) return;
  const applyButton = document.getElementById('processor-apply');
  if (applyButton) applyButton.hidden = true;

  // Fetched once; null when it fails, and then switching falls back to the no-JS page reload.
  const catalog = fetch(`${basePath}/processors`, { headers: { Accept: 'application/json' } })
    .then((response) => (response.ok ? response.json() : null))
    .then((body) => (body && Array.isArray(body.processors) ? body.processors : null))
    .catch(() => null);

  const switchTo = async (name) => {
    const processors = await catalog;
    if (select.value !== name) return; // changed again while the catalog loaded
    const entry = processors && processors.find((processor) => processor.name === name);
    const url = new URL(chooser.action, window.location.href);
    url.searchParams.set('processor', name);
    if (!entry) {
      window.location.assign(url.href);
      return;
    }
    current.value = entry.name;
    const hint = document.getElementById('processor-hint');
    if (hint) hint.replaceChildren(entry.description, ' ', el('span', { class: 'version' }, `v${entry.version}`));
    fieldsBox.replaceChildren(...buildFields(entry));
    onSwitched();
    window.history.replaceState(null, '', url.href);
  };
  select.addEventListener('change', () => void switchTo(select.value));
  chooser.addEventListener('submit', (event) => {
    event.preventDefault();
    void switchTo(select.value);
  });
  // Back/forward may restore the select to another processor than the fields were built for.
  if (select.value && select.value !== current.value) void switchTo(select.value);
}

const ID_PREFIX = 'f-';
const ORIGINAL_LABELS = { item_a: 'Item A (e.g. product name)', item_b: 'Item B (e.g. brand)' };
const LONG_TEXT_NAME = /(^|_)(text|body|content|notes?|message|prompt|html|markdown|csv)($|_)/i;
const LONG_TEXT_LENGTH = 500;
const TYPE_LABELS = {
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

export function buildFields(entry) {
  const schema = entry.fields || {};
  const properties = schema.properties || {};
  const required = new Set(schema.required || []);
  const nodes = [];
  const extra = schema.additionalProperties;
  // Without files, free-form fields are all there is to send: offer the original item inputs.
  if (!entry.files && ((typeof extra === 'object' && extra !== null) || extra === true)) {
    for (const name of Object.keys(ORIGINAL_LABELS)) if (!(name in properties)) nodes.push(buildField(name, { type: 'string' }, false));
  }
  for (const [name, property] of Object.entries(properties)) nodes.push(buildField(name, property || {}, required.has(name)));
  if (entry.files) nodes.push(buildFileField(entry.files));
  if (nodes.length === 0) nodes.push(el('p', { class: 'hint' }, 'This processor takes no input.'));
  return nodes;
}

function fieldKind(name, schema) {
  const variants = schema.anyOf || schema.oneOf;
  if (Array.isArray(variants)) {
    const choices = variants.filter((v) => v.type !== 'null');
    if (choices.length > 0 && choices.every((v) => 'const' in v)) return { kind: 'select', options: choices.map((v) => option(v.const, v.title)) };
    if (variants.some(isStructured)) return { kind: 'json' };
    return { kind: 'text', multiline: false };
  }
  if (Array.isArray(schema.enum)) return { kind: 'select', options: schema.enum.map((value) => option(value)) };
  if (isStructured(schema)) return { kind: 'json' };
  if (schema.type === 'integer' || schema.type === 'number') return { kind: 'number', integer: schema.type === 'integer' };
  if (schema.type === 'boolean') {
    return schema.default === true ? { kind: 'select', options: [option(true, 'Yes'), option(false, 'No')] } : { kind: 'checkbox' };
  }
  const multiline = typeof schema.maxLength === 'number' ? schema.maxLength > LONG_TEXT_LENGTH : LONG_TEXT_NAME.test(name);
  return { kind: 'text', multiline };
}

/** X | null is an X left empty; the outer title, description and default win. */
function unwrapNullable(schema) {
  const variants = schema.anyOf || schema.oneOf;
  if (!Array.isArray(variants)) return schema;
  const nonNull = variants.filter((v) => v.type !== 'null');
  if (nonNull.length !== 1 || nonNull.length === variants.length || 'const' in nonNull[0]) return schema;
  const outer = { ...schema };
  delete outer.anyOf;
  delete outer.oneOf;
  return { ...nonNull[0], ...outer };
}

function buildField(name, original, required) {
  const schema = unwrapNullable(original);
  const id = ID_PREFIX + name;
  const kind = fieldKind(name, schema);
  const hint = hintText(schema, kind);
  const common = { id, name, required, 'aria-describedby': hint ? `${id}-hint` : undefined };
  const label = labelFor(id, labelOf(name, schema), required);
  const hintNode = hint ? el('p', { id: `${id}-hint`, class: 'hint' }, kind.kind === 'json' ? el('span', { class: 'hint-tag' }, 'JSON') : '', kind.kind === 'json' ? ' ' : '', hint) : '';
  if (kind.kind === 'checkbox') {
    return el('div', { class: 'field field--checkbox' }, el('input', { type: 'checkbox', ...common, value: 'true', checked: schema.default === true }), label, hintNode);
  }
  return el('div', { class: 'field' }, label, buildControl(kind, schema, common), hintNode);
}

function buildControl(kind, schema, common) {
  if (kind.kind === 'select') {
    const chosen = schema.default === undefined ? undefined : String(schema.default);
    const empty = chosen === undefined ? el('option', { value: '', selected: true }, common.required ? 'Choose…' : '(default)') : '';
    return el('select', common, empty, ...kind.options.map((o) => el('option', { value: o.value, selected: o.value === chosen }, o.label)));
  }
  if (kind.kind === 'number') {
    const step = schema.multipleOf !== undefined ? schema.multipleOf : kind.integer ? 1 : 'any';
    return el('input', { type: 'number', ...common, min: schema.minimum, max: schema.maximum, step, value: scalar(schema.default) });
  }
  if (kind.kind === 'json') {
    const text = schema.default === undefined ? '' : typeof schema.default === 'string' ? schema.default : JSON.stringify(schema.default, null, 2);
    return el('textarea', { class: 'mono', ...common, rows: 6, spellcheck: 'false', placeholder: example(schema) }, text);
  }
  if (kind.multiline) {
    const rows = schema.maxLength === undefined || schema.maxLength > 2000 ? 6 : 3;
    return el('textarea', { ...common, rows, minlength: schema.minLength, maxlength: schema.maxLength, placeholder: example(schema) }, scalar(schema.default) || '');
  }
  const type = schema.format === 'email' ? 'email' : schema.format === 'uri' ? 'url' : 'text';
  return el('input', { type, ...common, minlength: schema.minLength, maxlength: schema.maxLength, autocomplete: 'off', placeholder: example(schema), value: scalar(schema.default) });
}

function hintText(schema, kind) {
  const parts = typeof schema.description === 'string' && schema.description ? [sentence(schema.description)] : [];
  const { minimum: min, maximum: max } = schema;
  if (kind.kind === 'number') {
    if (min !== undefined && max !== undefined) parts.push(`From ${number(min)} to ${number(max)}.`);
    else if (min !== undefined) parts.push(`At least ${number(min)}.`);
    else if (max !== undefined) parts.push(`At most ${number(max)}.`);
  } else if (kind.kind === 'text' && kind.multiline && schema.maxLength !== undefined) {
    parts.push(`Up to ${number(schema.maxLength)} characters.`);
  }
  return parts.join(' ');
}

function labelOf(name, schema) {
  if (schema.title) return schema.title;
  if (ORIGINAL_LABELS[name]) return ORIGINAL_LABELS[name];
  const words = name.replace(/[_.-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function buildFileField(files) {
  const id = `${ID_PREFIX}file`;
  const required = files.minCount >= 1;
  const multiple = files.maxCount > 1;
  const accept = Array.isArray(files.accept) && files.accept.length > 0 ? files.accept.join(',') : undefined;
  const input = el('input', {
    type: 'file', id, name: 'file', accept, multiple, required,
    'aria-describedby': `${id}-hint`, 'data-max-bytes': files.maxBytes, 'data-max-count': files.maxCount,
  });
  return el('div', { class: 'field field--file' }, labelFor(id, multiple ? 'Files' : 'File', required), input, el('p', { id: `${id}-hint`, class: 'hint' }, fileHint(files)));
}

function fileHint(files) {
  const labels = (files.accept || []).map((mime) => TYPE_LABELS[mime] || (mime.startsWith('image/') ? mime.slice(6).toUpperCase() : mime));
  const types = labels.length === 0 ? 'Any type' : labels.length === 1 ? labels[0] : `${labels.slice(0, -1).join(', ')} or ${labels[labels.length - 1]}`;
  const size = `at most ${formatBytes(files.maxBytes)}`;
  if (files.maxCount <= 1) return `${types}, ${size}.`;
  const count = files.minCount > 1 ? `${files.minCount} to ${files.maxCount} files` : `Up to ${files.maxCount} files`;
  return `${count}: ${types}, ${size} each.`;
}

/** Refuse too many or too large files before sending them, not after a long upload. */
export function checkFiles(input) {
  const maxBytes = Number(input.dataset.maxBytes);
  const maxCount = Number(input.dataset.maxCount);
  const files = Array.from(input.files || []);
  const tooLarge = files.find((file) => maxBytes > 0 && file.size > maxBytes);
  let problem = '';
  if (maxCount > 0 && files.length > maxCount) problem = `Choose at most ${maxCount} file${maxCount === 1 ? '' : 's'}.`;
  else if (tooLarge) problem = `"${tooLarge.name}" is ${formatBytes(tooLarge.size)}; the limit is ${formatBytes(maxBytes)}.`;
  input.setCustomValidity(problem);
  if (problem) input.reportValidity();
}

/** The visible "required" mark is aria-hidden: the control's own `required` is what is announced. */
function labelFor(id, text, required) {
  if (!required) return el('label', { for: id }, text);
  return el('label', { for: id }, text, ' ', el('span', { class: 'required-mark', 'aria-hidden': 'true' }, 'required'));
}

const option = (value, title) => ({ value: String(value), label: title === undefined ? String(value) : String(title) });
const isStructured = (schema) => [].concat(schema && schema.type !== undefined ? schema.type : []).some((t) => t === 'array' || t === 'object');
const scalar = (value) => (typeof value === 'string' || typeof value === 'number' ? String(value) : undefined);
const sentence = (text) => (/[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`);
const number = (n) => Number(n).toLocaleString('en-US');

function example(schema) {
  const first = Array.isArray(schema.examples) ? schema.examples[0] : undefined;
  return first === undefined ? undefined : typeof first === 'string' ? first : JSON.stringify(first);
}

/** A DOM element; attribute rules as in schema-fields.ts (true → bare, false/undefined → left out). */
export function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === false) continue;
    node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== '' && child !== null && child !== undefined) node.append(child);
  return node;
}

export function formatBytes(bytes) {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : Math.round(value * 10) / 10} ${units[unit]}`;
}

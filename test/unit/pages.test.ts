import { linksFor } from '../../gateway/links.js';
import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import type { CatalogEntry, JsonSchemaObject } from '../../gateway/pages/catalog-entry.js';
import { fileHint, formatBytes, renderSchemaFields } from '../../gateway/pages/schema-fields.js';
import { renderTaskPage } from '../../gateway/pages/task-page.js';
import { renderUploadPage } from '../../gateway/pages/upload-page.js';
import type { StatusDocument } from '../../gateway/tasks/task-document.js';
import { echoDescriptor } from '../../shared/processors/catalog.js';

/** What /processors serves: the TypeBox schema after a JSON round trip. */
function asJson(schema: unknown): JsonSchemaObject {
  return JSON.parse(JSON.stringify(schema)) as JsonSchemaObject;
}

function fields(properties: Parameters<typeof Type.Object>[0]): string {
  return renderSchemaFields(asJson(Type.Object(properties)), 'f-');
}

/** The opening tag of the control with this id. */
function control(html: string, id: string): string {
  const match = new RegExp(`<(input|select|textarea)[^>]*\\bid="${id}"[^>]*>`).exec(html);
  if (!match) throw new Error(`no control #${id} in:\n${html}`);
  return match[0];
}

const fileEntry: CatalogEntry = {
  name: 'document',
  version: '1.0.0',
  description: 'Reads text from documents',
  fields: asJson(Type.Object({ language: Type.Optional(Type.String({ maxLength: 32 })) })),
  files: { accept: ['application/pdf', 'image/png', 'image/jpeg'], minCount: 1, maxCount: 5, maxBytes: 20 * 1024 * 1024 },
};
const fieldsOnlyEntry: CatalogEntry = { name: 'echo', version: '1.0.0', description: 'Echoes', fields: asJson(echoDescriptor.fields), files: null };

describe('renderSchemaFields', () => {
  it('renders a short string as a text input with its limits', () => {
    const html = fields({ calendar_name: Type.String({ maxLength: 200 }) });
    const input = control(html, 'f-calendar_name');
    expect(input).toMatch(/^<input type="text"/);
    expect(input).toContain('name="calendar_name"');
    expect(input).toContain('maxlength="200"');
    expect(html).toContain('<label for="f-calendar_name">Calendar name');
  });

  it('renders a long string as a textarea', () => {
    const html = fields({ notes: Type.Optional(Type.String({ maxLength: 10_000 })) });
    expect(control(html, 'f-notes')).toMatch(/^<textarea[^>]*maxlength="10000"/);
    expect(html).toContain('Up to 10,000 characters.');
    // No maxLength: the name decides.
    expect(control(fields({ text: Type.String() }), 'f-text')).toMatch(/^<textarea/);
    expect(control(fields({ title: Type.String() }), 'f-title')).toMatch(/^<input type="text"/);
  });

  it('renders an integer with its bounds as a number input', () => {
    const html = fields({ width: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: 'Width in pixels' })) });
    const input = control(html, 'f-width');
    expect(input).toMatch(/^<input type="number"/);
    expect(input).toContain('min="1"');
    expect(input).toContain('max="4096"');
    expect(input).toContain('step="1"');
    expect(html).toContain('Width in pixels. From 1 to 4,096.');
    expect(control(fields({ ratio: Type.Number() }), 'f-ratio')).toContain('step="any"');
    // A nullable integer keeps its bounds; a nullable enum is still a select.
    const nullable = fields({ pages: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]), fit: Type.Union([Type.Literal('a'), Type.Null()]) });
    expect(control(nullable, 'f-pages')).toMatch(/^<input type="number"[^>]*min="1"/);
    expect(control(nullable, 'f-fit')).toMatch(/^<select/);
  });

  it('renders a union of literals as a select with a "default" choice when optional', () => {
    const html = fields({ fit: Type.Optional(Type.Union([Type.Literal('cover'), Type.Literal('contain')])) });
    expect(control(html, 'f-fit')).toMatch(/^<select/);
    expect(html).toContain('<option value="" selected>(default)</option>');
    expect(html).toContain('<option value="cover">cover</option>');
    expect(html).toContain('<option value="contain">contain</option>');
    // A default is preselected instead of the empty choice.
    const withDefault = fields({ fit: Type.Union([Type.Literal('cover'), Type.Literal('contain')], { default: 'contain' }) });
    expect(withDefault).toContain('<option value="contain" selected>');
    expect(withDefault).not.toContain('(default)');
  });

  it('renders a boolean as a checkbox sending "true"', () => {
    const html = fields({ deskew: Type.Optional(Type.Boolean()) });
    const input = control(html, 'f-deskew');
    expect(input).toMatch(/^<input type="checkbox"/);
    expect(input).toContain('value="true"');
    expect(input).not.toContain('checked');
    // Default true: a checkbox could never send false, so it is a yes/no choice.
    expect(control(fields({ deskew: Type.Boolean({ default: true }) }), 'f-deskew')).toMatch(/^<select/);
  });

  it('renders a union with an array as a JSON textarea', () => {
    const html = fields({ todos: Type.Optional(Type.Union([Type.String(), Type.Array(Type.Unknown())], { description: 'The todos' })) });
    expect(control(html, 'f-todos')).toMatch(/^<textarea class="mono"/);
    expect(html).toContain('<span class="hint-tag">JSON</span> The todos.');
    expect(control(fields({ options: Type.Object({ a: Type.String() }) }), 'f-options')).toMatch(/^<textarea class="mono"/);
  });

  it('marks required fields and links hints with aria-describedby', () => {
    const html = fields({ title: Type.String({ description: 'What to do' }), note: Type.Optional(Type.String()) });
    const title = control(html, 'f-title');
    expect(title).toMatch(/ required[ >]/);
    expect(title).toContain('aria-describedby="f-title-hint"');
    expect(html).toContain('<p id="f-title-hint" class="hint">What to do.</p>');
    expect(html).toMatch(/<label for="f-title">Title <span class="required-mark"/);
    const note = control(html, 'f-note');
    expect(note).not.toMatch(/ required[ >]/);
    expect(note).not.toContain('aria-describedby');
    expect(html).not.toMatch(/<label for="f-note">[^<]*<span class="required-mark"/);
  });

  it('uses titles, humanised names, and the original labels for item_a/item_b', () => {
    expect(fields({ sleep_ms: Type.Integer({ title: 'Delay' }) })).toContain('>Delay');
    expect(fields({ deadline_at: Type.String() })).toContain('>Deadline at');
    // echo takes free-form fields: the original form's two inputs come first.
    const echo = renderSchemaFields(asJson(echoDescriptor.fields), 'f-', { originalItems: true });
    expect(echo.indexOf('name="item_a"')).toBeLessThan(echo.indexOf('name="sleep_ms"'));
    expect(echo).toContain('Item A (e.g. product name)');
    expect(echo).toContain('Item B (e.g. brand)');
    expect(renderSchemaFields(asJson(echoDescriptor.fields), 'f-')).not.toContain('item_a');
  });
});

describe('the upload page', () => {
  const page = (processors: CatalogEntry[], selected: string) => renderUploadPage({ links: linksFor('/prediction'), processors, selected });

  it('posts multipart to the uploader, with the chosen processor', () => {
    const html = page([fieldsOnlyEntry, fileEntry], 'document');
    expect(html).toMatch(/<form id="upload-form" method="post" action="\/prediction\/uploader" enctype="multipart\/form-data"/);
    expect(html).toContain('<input type="hidden" name="processor" value="document">');
    expect(html).toContain('<option value="document" selected>');
    // The no-JS processor switch: a GET form back to this page.
    expect(html).toMatch(/<form id="processor-form"[^>]*method="get" action="\/prediction\/upload"/);
    expect(html).toContain('Use this processor');
    expect(html).toContain('<script type="module" src="/prediction/static/upload.js"></script>');
  });

  it('has a file input matching the processor’s file spec', () => {
    const input = control(page([fileEntry], 'document'), 'f-file');
    expect(input).toContain('name="file"');
    expect(input).toContain('accept="application/pdf,image/png,image/jpeg"');
    expect(input).toMatch(/ multiple[ >]/);
    expect(input).toMatch(/ required[ >]/);
    const single = control(page([{ ...fileEntry, files: { accept: ['image/png'], minCount: 0, maxCount: 1, maxBytes: 1024 } }], 'document'), 'f-file');
    expect(single).not.toMatch(/ multiple[ >]/);
    expect(single).not.toMatch(/ required[ >]/);
    expect(page([fileEntry], 'document')).toContain('Up to 5 files: PDF, PNG or JPEG, at most 20 MB each.');
  });

  it('offers the original item inputs only to free-form processors without files', () => {
    const tolerant = { ...fileEntry, fields: asJson(Type.Object({}, { additionalProperties: Type.String() })) };
    expect(page([tolerant], 'document')).not.toContain('item_a');
  });

  it('has no file input for a processor without files', () => {
    const html = page([fieldsOnlyEntry, fileEntry], 'echo');
    expect(html).not.toContain('type="file"');
    expect(html).toContain('name="item_a"');
    expect(html).toContain('name="item_b"');
  });

  it('falls back to the first processor when the selected one is unknown, and copes with none', () => {
    expect(page([fieldsOnlyEntry, fileEntry], 'nope')).toContain('<input type="hidden" name="processor" value="echo">');
    const empty = page([], 'echo');
    expect(empty).toContain('No processors are available right now.');
    expect(empty).toMatch(/<button type="submit" class="button" disabled>/);
  });

  it('escapes everything that comes from the catalog', () => {
    const evil = '<script>alert(1)</script>"\'&';
    const entry: CatalogEntry = {
      name: 'x"><script>',
      version: '<b>1</b>',
      description: evil,
      fields: {
        type: 'object',
        properties: {
          note: { type: 'string', title: evil, description: evil, default: evil, examples: [evil] },
          mode: { anyOf: [{ const: evil }, { const: 'plain' }], description: evil },
        },
        required: ['note'],
      },
      files: { accept: [evil], minCount: 1, maxCount: 1, maxBytes: 10 },
    };
    const html = page([entry], entry.name);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('"><script>');
    expect(html).not.toContain('<b>1</b>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;');
  });
});

describe('the task page', () => {
  const task: StatusDocument = {
    task_id: '0b7e4d3c-6a3e-4c55-9b56-1f0d8a8d9c11',
    status: 'SUCCESS',
    processor: 'thumbnail',
    progress: 1,
    progress_message: null,
    attempts: 1,
    created_at: '2024-05-01T10:00:00.000Z',
    started_at: '2024-05-01T10:00:01.000Z',
    finished_at: '2024-05-01T10:00:02.000Z',
    error: null,
    artifacts: [],
    deliveries: [],
    expired: false,
    expired_at: null,
    status_url: '/p/task_status/0b7e4d3c-6a3e-4c55-9b56-1f0d8a8d9c11',
    result_url: '/p/task_result/0b7e4d3c-6a3e-4c55-9b56-1f0d8a8d9c11',
  };

  it('lists artifacts as links, previewing images', () => {
    const artifacts = [
      { name: 'thumb<1>.webp', content_type: 'image/webp', size: 2048, url: '/p/task_result/x/artifacts/thumb%3C1%3E.webp' },
      { name: 'calendar.ics', content_type: 'text/calendar', size: 300, url: '/p/task_result/x/artifacts/calendar.ics' },
    ];
    const html = renderTaskPage({ links: linksFor('/p'), task: { ...task, artifacts }, resultJson: 'null' });
    expect(html).toContain('<a href="/p/task_result/x/artifacts/thumb%3C1%3E.webp">thumb&lt;1&gt;.webp</a>');
    expect(html).toContain('<img class="artifact-preview" src="/p/task_result/x/artifacts/thumb%3C1%3E.webp"');
    expect(html).toContain('image/webp · 2 KB');
    expect(html).toContain('<a href="/p/task_result/x/artifacts/calendar.ics">calendar.ics</a>');
    expect(html.match(/<img /g)).toHaveLength(1);
    // A null result beside files is not shown as a "Result".
    expect(html).not.toContain('<h3>Result</h3>');
  });

  it('shows a result’s text before its JSON', () => {
    const html = renderTaskPage({ links: linksFor('/p'), task, resultJson: JSON.stringify({ text: 'Hello <world>', pages: [1] }) });
    const text = html.indexOf('<pre class="result-text" tabindex="0">Hello &lt;world&gt;</pre>');
    expect(text).toBeGreaterThan(0);
    expect(html.indexOf('<details class="result-json">')).toBeGreaterThan(text);
    const plain = renderTaskPage({ links: linksFor('/p'), task, resultJson: '{"fields":{"item_b":"Samsung"}}' });
    expect(plain).toContain('&quot;Samsung&quot;');
    expect(plain).not.toContain('result-text');
  });
});

describe('formatting', () => {
  it('formats sizes and file hints', () => {
    expect(formatBytes(500)).toBe('500 bytes');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MB');
    expect(fileHint({ accept: ['image/png'], minCount: 1, maxCount: 1, maxBytes: 5 * 1024 * 1024 })).toBe('PNG, at most 5 MB.');
  });
});

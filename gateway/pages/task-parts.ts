import { VOLUME_SCHEME, type TaskInput } from '../../shared/index.js';
import { escapeHtml } from './layout.js';
import { formatBytes } from './schema-fields.js';

/**
 * Where the page can fetch the task's uploaded files: those on the volume (routes/task-inputs.ts
 * serves them), by index. No `pageUrl` (an expired task, whose uploads the janitor removed): none.
 */
export function inputFileUrls(input: TaskInput, pageUrl: string | undefined): (string | undefined)[] {
  return input.files.map((file, index) => (pageUrl !== undefined && file.location.startsWith(VOLUME_SCHEME) ? `${pageUrl}/inputs/${index}` : undefined));
}

/** The uploaded image OCR word boxes are drawn over: the first raster image the page can fetch. */
export function inputImageUrl(input: TaskInput, pageUrl: string | undefined): string | undefined {
  const urls = inputFileUrls(input, pageUrl);
  return input.files.map((file, index) => (RASTER_IMAGES.has(file.content_type) ? urls[index] : undefined)).find((url) => url !== undefined);
}

const RASTER_IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** What the task was submitted with: its fields, and its files (a link where the gateway keeps them). */
export function renderInput(input: TaskInput, pageUrl: string | undefined): string {
  const urls = inputFileUrls(input, pageUrl);
  const fields = Object.entries(input.fields);
  const rows = fields.map(
    ([name, value]) =>
      `<div class="fact"><dt><code>${escapeHtml(name)}</code></dt><dd>${escapeHtml(typeof value === 'string' ? value : JSON.stringify(value))}</dd></div>`,
  );
  const files = input.files.map(
    (file, index) =>
      `<li>${urls[index] === undefined ? escapeHtml(file.name) : `<a href="${escapeHtml(urls[index])}">${escapeHtml(file.name)}</a>`} <span class="artifact-meta">${escapeHtml(file.content_type)} · ${escapeHtml(formatBytes(file.size))}</span></li>`,
  );
  return `<section class="card task-input" aria-labelledby="input-heading">
  <h2 id="input-heading">Input</h2>
  ${rows.length ? `<dl class="facts">${rows.join('')}</dl>` : '<p class="hint">No fields.</p>'}
  ${files.length ? `<h3>Files</h3><ul class="artifact-list">${files.join('')}</ul>` : ''}
</section>`;
}

/**
 * The result as data for the page's script, which draws the same views as the form's live view
 * (static/result-views.js). A JSON script block is never executed, so the CSP allows it; `<` is
 * escaped so that no value can close the block.
 */
export function renderResultData(value: unknown, imageUrl: string | undefined): string {
  const image = imageUrl === undefined ? '' : ` data-image-url="${escapeHtml(imageUrl)}"`;
  return `<script type="application/json" data-result-json${image}>${JSON.stringify(value).replace(/</g, '\\u003c')}</script>`;
}

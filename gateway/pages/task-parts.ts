import type { TaskInput } from '../../shared/index.js';
import { escapeHtml } from './layout.js';
import { formatBytes } from './schema-fields.js';

/** What the task was submitted with: its fields, and the files by name (their bytes stay on the server). */
export function renderInput(input: TaskInput): string {
  const fields = Object.entries(input.fields);
  const rows = fields.map(
    ([name, value]) =>
      `<div class="fact"><dt><code>${escapeHtml(name)}</code></dt><dd>${escapeHtml(typeof value === 'string' ? value : JSON.stringify(value))}</dd></div>`,
  );
  const files = input.files.map(
    (file) => `<li>${escapeHtml(file.name)} <span class="artifact-meta">${escapeHtml(file.content_type)} · ${escapeHtml(formatBytes(file.size))}</span></li>`,
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
export function renderResultData(value: unknown): string {
  return `<script type="application/json" data-result-json>${JSON.stringify(value).replace(/</g, '\\u003c')}</script>`;
}

import type { CatalogEntry } from './catalog-entry.js';
import { escapeHtml, renderLayout } from './layout.js';
import { renderFileField, renderSchemaFields } from './schema-fields.js';
import type { Links } from '../links.js';

export interface UploadPageOptions {
  links: Links;
  /** What `GET {base}/processors` lists, in the same shape. */
  processors: readonly CatalogEntry[];
  /** The processor whose fields are shown (from `?processor=`, else the default); unknown → the first. */
  selected: string;
}

/** Prefix of the generated controls' ids, so a field named e.g. "processor" cannot clash with the page's own. */
export const FIELD_ID_PREFIX = 'f-';

/**
 * The upload form, built from the processor catalog. Without JavaScript, choosing a processor is a
 * small GET form that reloads this page with that processor's fields, and submitting is a plain
 * multipart POST that the gateway answers with a redirect to the task page. static/upload.js
 * rebuilds the fields in place instead, submits with live status, and fills the #task skeleton
 * below (rendered here so the script only sets text and attributes).
 */
export function renderUploadPage({ links, processors, selected: requested }: UploadPageOptions): string {
  const selected = processors.find((processor) => processor.name === requested) ?? processors[0];
  const processorOptions = processors
    .map((processor) => {
      const isSelected = processor === selected ? ' selected' : '';
      return `<option value="${escapeHtml(processor.name)}"${isSelected}>${escapeHtml(processor.name)}</option>`;
    })
    .join('\n        ');
  const hint = selected ? selected.description : 'No processors are available right now.';
  const disabled = selected ? '' : ' disabled';

  const body = `
<h1>New task</h1>
<p class="lede">Hand in the items to process. You get a task id at once; the result appears here when a worker has finished.</p>

<div class="card">
  <form id="processor-form" class="processor-form" method="get" action="${escapeHtml(links.to('/upload'))}">
    <label for="processor">Processor</label>
    <div class="inline-row">
      <select id="processor" name="processor" aria-describedby="processor-hint"${disabled}>
        ${processorOptions}
      </select>
      <button type="submit" id="processor-apply" class="button button--secondary"${disabled}>Use this processor</button>
    </div>
    <p id="processor-hint" class="hint">${escapeHtml(hint)}${selected ? ` <span class="version">v${escapeHtml(selected.version)}</span>` : ''}</p>
  </form>

  <form id="upload-form" method="post" action="${escapeHtml(links.to('/uploader'))}" enctype="multipart/form-data" data-base-path="${escapeHtml(links.base)}">
    <input type="hidden" name="processor" value="${escapeHtml(selected?.name ?? '')}">
    <div id="processor-fields" class="processor-fields">
${selected ? renderProcessorFields(selected) : ''}
    </div>
    <div class="form-actions">
      <button type="submit" class="button"${disabled}>Submit</button>
      <span class="upload-status" data-upload-status hidden>
        <progress max="1" aria-label="Upload progress"></progress>
        <span data-upload-text></span>
      </span>
    </div>
    <div id="form-alert" class="alert" role="alert"></div>
  </form>
</div>

${TASK_SECTION}`;

  // External (the gateway's CSP, script-src 'self', forbids inline scripts); a module, so deferred.
  const head = `<script type="module" src="${escapeHtml(links.to('/static/upload.js'))}"></script>`;
  return renderLayout({ title: 'New task', body, links, head });
}

/** The inputs of one processor: the page renders them, and upload.js swaps them in when the choice changes. */
export function renderProcessorFields(processor: CatalogEntry): string {
  // Without files, free-form fields are all there is to send: offer the original item inputs.
  const fields = renderSchemaFields(processor.fields, FIELD_ID_PREFIX, { originalItems: processor.files === null });
  const files = processor.files ? renderFileField(processor.files, FIELD_ID_PREFIX) : '';
  if (!fields && !files) return '<p class="hint">This processor takes no input.</p>';
  return [fields, files].filter(Boolean).join('\n');
}

/**
 * Filled by upload.js; the data-field names are its contract with this markup. Progress is kept
 * out of the live region, or a screen reader would read out every poll.
 */
const TASK_SECTION = `<section id="task" class="card task" aria-live="polite" aria-labelledby="task-heading" tabindex="-1" hidden>
  <div class="task-header">
    <h2 id="task-heading">Task</h2>
    <span class="badge" data-field="status"></span>
  </div>
  <dl class="facts">
    <div class="fact">
      <dt>Task id</dt>
      <dd><code class="task-id" data-field="task-id"></code></dd>
    </div>
    <div class="fact" data-field="progress-row">
      <dt>Progress</dt>
      <dd class="progress-cell" aria-live="off">
        <progress max="1" data-field="progress" aria-label="Task progress"></progress>
        <span class="progress-text" data-field="progress-text"></span>
      </dd>
    </div>
    <div class="fact">
      <dt>Attempts</dt>
      <dd data-field="attempts"></dd>
    </div>
  </dl>
  <div class="error-box" data-field="error" hidden>
    <h3>The task failed</h3>
    <p data-field="error-message"></p>
  </div>
  <div class="artifacts" data-field="artifacts-block" hidden>
    <h3>Output files</h3>
    <ul class="artifact-list" data-field="artifacts"></ul>
  </div>
  <div class="result" data-field="result-block" hidden>
    <h3>Result</h3>
    <div class="result-view" data-field="result-view" hidden></div>
    <pre class="result-text" data-field="result-text" tabindex="0" hidden></pre>
    <details class="result-json" data-field="result-details" open>
      <summary>Full result (JSON)</summary>
      <pre data-field="result" tabindex="0"></pre>
    </details>
  </div>
  <p class="links">
    <a data-field="page-link" href="#">Task page</a>
    <a data-field="status-link" href="#">Status (JSON)</a>
    <a data-field="result-link" href="#">Result</a>
  </p>
</section>`;

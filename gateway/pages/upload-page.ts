import { escapeHtml, renderLayout, withBasePath } from './layout.js';

export interface UploadPageOptions {
  basePath: string;
  processors: { name: string; description: string }[];
  defaultProcessor: string;
}

/**
 * The original system's upload form. Without JavaScript it is a plain POST that the gateway
 * answers with a redirect to the task page; static/upload.js turns it into fetch + live status,
 * filling the #task skeleton below (rendered here so the script only sets text and attributes).
 */
export function renderUploadPage({ basePath, processors, defaultProcessor }: UploadPageOptions): string {
  const hasProcessors = processors.length > 0;
  const selected = processors.find((processor) => processor.name === defaultProcessor) ?? processors[0];
  const processorOptions = processors
    .map((processor) => {
      const isSelected = processor === selected ? ' selected' : '';
      return `<option value="${escapeHtml(processor.name)}" data-description="${escapeHtml(processor.description)}"${isSelected}>${escapeHtml(processor.name)}</option>`;
    })
    .join('\n          ');

  const body = `
<h1>New task</h1>
<p class="lede">Hand in the items to process. You get a task id at once; the result appears here when a worker has finished.</p>

<form id="upload-form" class="card" method="post" action="${escapeHtml(withBasePath(basePath, '/uploader'))}" enctype="application/x-www-form-urlencoded" data-base-path="${escapeHtml(basePath)}">
  <div class="field">
    <label for="processor">Processor</label>
    <select id="processor" name="processor" aria-describedby="processor-hint"${hasProcessors ? '' : ' disabled'}>
          ${processorOptions}
    </select>
    <p id="processor-hint" class="hint">${escapeHtml(hasProcessors ? (selected?.description ?? '') : 'No processors are available right now.')}</p>
  </div>
  <div class="field">
    <label for="item_a">Item A</label>
    <input id="item_a" name="item_a" type="text" autocomplete="off" spellcheck="false" aria-describedby="item_a-hint">
    <p id="item_a-hint" class="hint">For example, a product name.</p>
  </div>
  <div class="field">
    <label for="item_b">Item B</label>
    <input id="item_b" name="item_b" type="text" autocomplete="off" spellcheck="false" aria-describedby="item_b-hint">
    <p id="item_b-hint" class="hint">For example, a brand.</p>
  </div>
  <div class="form-actions">
    <button type="submit" class="button"${hasProcessors ? '' : ' disabled'}>Submit</button>
  </div>
  <div id="form-alert" class="alert" role="alert"></div>
</form>

${TASK_SECTION}`;

  // External and deferred: the gateway's CSP (script-src 'self') forbids inline scripts.
  const head = `<script src="${escapeHtml(withBasePath(basePath, '/static/upload.js'))}" defer></script>`;
  return renderLayout({ title: 'New task', body, basePath, head });
}

/**
 * Filled by upload.js; the data-field names are its contract with this markup. Progress is kept
 * out of the live region, or a screen reader would read out every poll.
 */
const TASK_SECTION = `<section id="task" class="card task" aria-live="polite" aria-labelledby="task-heading" hidden>
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
  <div class="result" data-field="result-block" hidden>
    <h3>Result</h3>
    <pre data-field="result" tabindex="0"></pre>
  </div>
  <p class="links">
    <a data-field="page-link" href="#">Task page</a>
    <a data-field="status-link" href="#">Status (JSON)</a>
    <a data-field="result-link" href="#">Result (JSON)</a>
  </p>
</section>`;

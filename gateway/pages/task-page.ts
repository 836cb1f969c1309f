import type { StatusDocument } from '../tasks/task-document.js';
import { escapeHtml, renderLayout } from './layout.js';
import { formatBytes } from './schema-fields.js';
import { isTerminal, type TaskInput, type TaskStatus } from '../../shared/index.js';
import { inputImageUrl, renderInput, renderResultData } from './task-parts.js';
import type { Links } from '../links.js';

export interface TaskPageOptions {
  links: Links;
  task: StatusDocument;
  /** The JSON result, present only when the task succeeded and the result is JSON. */
  resultJson?: string;
  /** What it was submitted with; absent when the store no longer has it. */
  input?: TaskInput;
}

const STATUS_SUMMARIES: Record<TaskStatus, string> = {
  PENDING: 'Waiting in the queue for a worker.',
  STARTED: 'A worker is processing the task.',
  RETRY: 'The last attempt failed; the task will be tried again.',
  SUCCESS: 'The task finished.',
  FAILURE: 'The task failed.',
  REVOKED: 'The task was cancelled.',
};

/**
 * The no-JavaScript view of one task: the form's plain POST redirects here. Until the task is
 * terminal the page reloads itself every second, which is the only way to poll without a script.
 */
export function renderTaskPage({ links, task, resultJson, input }: TaskPageOptions): string {
  const finished = isTerminal(task.status);
  const head = `${finished ? '' : '<meta http-equiv="refresh" content="1">'}
<script type="module" src="${escapeHtml(links.to('/static/task-page.js'))}"></script>`;
  // No link that would only answer an error: the result exists on SUCCESS until it expires.
  const resultLink = task.status === 'SUCCESS' && !task.expired ? `<a href="${escapeHtml(task.result_url)}">Result</a>` : '';
  const cancel = finished
    ? ''
    : `<form class="cancel-form" method="post" action="${escapeHtml(links.to(`/task_cancel/${task.task_id}`))}">
    <button type="submit" class="button button--secondary">Cancel task</button>
  </form>`;

  const body = `
<p class="back-link"><a href="${escapeHtml(links.to('/tasks'))}">← Your tasks</a></p>
<h1>Task <code class="task-id">${escapeHtml(task.task_id)}</code></h1>

<section class="card task" aria-labelledby="status-heading">
  <div class="task-header">
    <h2 id="status-heading">Status</h2>
    ${renderBadge(task.status)}
  </div>
  <p class="status-summary">${escapeHtml(STATUS_SUMMARIES[task.status])}</p>
  <dl class="facts">
    ${fact('Processor', `<code>${escapeHtml(task.processor)}</code>`)}
    ${renderProgressFact(task)}
    ${fact('Attempts', escapeHtml(String(task.attempts)))}
    ${fact('Submitted', renderTime(task.created_at))}
    ${task.started_at === null ? '' : fact('Started', renderTime(task.started_at))}
    ${task.finished_at === null ? '' : fact('Finished', `${renderTime(task.finished_at)}${renderRunTime(task)}`)}
  </dl>
  ${renderError(task)}
  ${renderResult(task, resultJson, input === undefined ? undefined : inputImageUrl(input, links.page(task.task_id)))}
  <p class="links">
    <a href="${escapeHtml(task.status_url)}">Status (JSON)</a>
    ${resultLink}
  </p>
  ${cancel}
</section>
${input === undefined ? '' : renderInput(input, task.expired ? undefined : links.page(task.task_id))}
${finished ? '' : '<p class="hint refresh-note">This page refreshes itself every second until the task finishes.</p>'}`;

  return renderLayout({ title: `${task.status} – task ${task.task_id.slice(0, 8)}`, body, links, head });
}

function renderBadge(status: TaskStatus): string {
  return `<span class="badge badge--${status.toLowerCase()}">${escapeHtml(status)}</span>`;
}

function fact(term: string, definitionHtml: string): string {
  return `<div class="fact"><dt>${escapeHtml(term)}</dt><dd>${definitionHtml}</dd></div>`;
}

function renderProgressFact(task: StatusDocument): string {
  if (task.progress === null) return '';
  const fraction = Math.min(1, Math.max(0, task.progress));
  const percent = `${Math.round(fraction * 100)}%`;
  const label = task.progress_message === null ? percent : `${percent} · ${task.progress_message}`;
  return fact(
    'Progress',
    `<span class="progress-cell"><progress max="1" value="${fraction}" aria-label="Task progress">${percent}</progress><span class="progress-text">${escapeHtml(label)}</span></span>`,
  );
}

function renderError(task: StatusDocument): string {
  if (task.error === null) return '';
  return `<div class="error-box">
    <h3>${task.status === 'FAILURE' ? 'The task failed' : 'Last error'}</h3>
    <p>${escapeHtml(task.error.message)}</p>
    <p class="hint">Code: <code>${escapeHtml(task.error.code)}</code></p>
  </div>`;
}

function renderResult(task: StatusDocument, resultJson: string | undefined, imageUrl: string | undefined): string {
  if (task.status !== 'SUCCESS') return '';
  if (task.expired) return `<p class="hint">The result and its files expired on ${escapeHtml(task.expired_at ?? '')} and were removed.</p>`;
  const files = renderArtifacts(task.artifacts);
  if (resultJson === undefined) {
    if (files) return files;
    return `<div class="result"><h3>Result</h3><p><a href="${escapeHtml(task.result_url)}">Download the result</a></p></div>`;
  }
  const result = parseJson(resultJson);
  // A processor whose output is its files often returns null: nothing worth a "Result" box.
  if (files && result.ok && result.value === null) return files;
  const pretty = result.ok ? JSON.stringify(result.value, null, 2) : resultJson;
  const text = result.ok ? textOf(result.value) : undefined;
  // Text first (a document's extracted text reads better than its JSON), the full JSON behind it.
  const body =
    text === undefined
      ? `<pre tabindex="0">${escapeHtml(pretty)}</pre>`
      : `<pre class="result-text" tabindex="0">${escapeHtml(text)}</pre>
    <details class="result-json"><summary>Full result (JSON)</summary><pre tabindex="0">${escapeHtml(pretty)}</pre></details>`;
  // The form's live view draws tables and word boxes from the same data (static/task-page.js).
  return `${files}<div class="result">
    <h3>Result</h3>
    <div class="result-view" data-result-view hidden></div>
    ${result.ok ? renderResultData(result.value, imageUrl) : ''}
    ${body}
  </div>`;
}

/** Output files as download links; images the browser can show also get a preview. */
function renderArtifacts(artifacts: StatusDocument['artifacts']): string {
  if (artifacts.length === 0) return '';
  const items = artifacts.map((artifact) => {
    const url = escapeHtml(artifact.url);
    const preview = isPreviewable(artifact.content_type)
      ? `<img class="artifact-preview" src="${url}" alt="Preview of ${escapeHtml(artifact.name)}" loading="lazy">`
      : '';
    return `<li>
      <a href="${url}">${escapeHtml(artifact.name)}</a>
      <span class="artifact-meta">${escapeHtml(artifact.content_type)} · ${escapeHtml(formatBytes(artifact.size))}</span>
      ${preview}
    </li>`;
  });
  return `<div class="artifacts">
    <h3>Output files</h3>
    <ul class="artifact-list">
    ${items.join('\n    ')}
    </ul>
  </div>`;
}

/** TIFF is an image/* that browsers cannot display. */
function isPreviewable(contentType: string): boolean {
  return contentType.startsWith('image/') && contentType !== 'image/tiff';
}

function textOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const text = (value as { text?: unknown }).text;
  return typeof text === 'string' ? text : undefined;
}

/** The caller may hand over compact JSON; anything that is not JSON is shown as it came. */
function parseJson(json: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(json) as unknown };
  } catch {
    return { ok: false };
  }
}

function renderTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return escapeHtml(iso);
  // UTC, because the server cannot know the reader's time zone and a silent offset misleads.
  const readable = `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return `<time datetime="${escapeHtml(date.toISOString())}">${readable}</time>`;
}

function renderRunTime(task: StatusDocument): string {
  if (task.started_at === null || task.finished_at === null) return '';
  const milliseconds = Date.parse(task.finished_at) - Date.parse(task.started_at);
  if (!Number.isFinite(milliseconds) || milliseconds < 0) return '';
  const duration = milliseconds < 1000 ? `${milliseconds} ms` : `${(milliseconds / 1000).toFixed(1)} s`;
  return ` <span class="hint">(ran ${duration})</span>`;
}

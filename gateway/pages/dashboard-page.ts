import type { DashboardData, DashboardFilters, DashboardTask } from '../routes/dashboard-data.js';
import { escapeHtml, renderLayout } from './layout.js';
import { renderTime } from './dashboard-time.js';
import { renderAttention, renderDeadLetters, renderQueues } from './dashboard-broker.js';
import { TASK_STATUSES, type TaskStatus } from '../../shared/index.js';
import type { Links } from '../links.js';

export interface DashboardPageOptions {
  links: Links;
  data: DashboardData;
  processors: readonly string[];
  notice?: { redriven: number; skipped: number } | undefined;
}

const REFRESH_SECONDS = 5;
const ERROR_CHARS = 160;

/**
 * The operator's view, without JavaScript: a meta refresh re-reads it every few seconds (the CSP
 * allows no inline script anyway). Every value from the store or the broker goes through
 * escapeHtml: task errors and dead-letter bodies are whatever a processor or producer wrote.
 */
export function renderDashboardPage({ links, data, processors, notice }: DashboardPageOptions): string {
  const dashboardUrl = links.to('/dashboard');
  // The refresh goes to the page without the redrive notice, so the notice shows once.
  const refreshUrl = pageUrl(dashboardUrl, data.filters);
  const head = `<meta http-equiv="refresh" content="${REFRESH_SECONDS}; url=${escapeHtml(refreshUrl)}">
<link rel="stylesheet" href="${escapeHtml(links.to('/static/dashboard.css'))}">`;

  const body = `
<div class="dashboard">
<div class="dashboard-title">
  <h1>Dashboard</h1>
  <p class="hint">Refreshes every ${REFRESH_SECONDS} seconds · as of ${renderTime(data.generated_at)} UTC · <a href="${escapeHtml(links.to('/dashboard.json'))}">JSON</a></p>
</div>
${notice ? renderNotice(notice) : ''}
${renderCounts(data)}
${renderAttention(data, links)}
${renderDeadLetters(data, links)}
${renderDeliveryProblems(data)}
${renderTasks(data, dashboardUrl, processors)}
${renderQueues(data)}
</div>`;
  return renderLayout({ title: 'Dashboard', body, links, head });
}

function renderNotice({ redriven, skipped }: { redriven: number; skipped: number }): string {
  const skippedText =
    skipped === 0
      ? ''
      : ` ${skipped} ${skipped === 1 ? 'message stays' : 'messages stay'} in the dead-letter queue: ${skipped === 1 ? 'it names' : 'they name'} no queue warren knows, or a task that has finished.`;
  return `<p class="notice" role="status">Redrove ${redriven} message${redriven === 1 ? '' : 's'} to ${redriven === 1 ? 'its queue' : 'their queues'}.${escapeHtml(skippedText)}</p>`;
}

function renderCounts({ counts, rate }: DashboardData): string {
  const tiles = TASK_STATUSES.map(
    (status) => `<div class="stat">
      <span class="stat-value">${counts.by_status[status]}</span>
      <span class="stat-label">${renderBadge(status)}</span>
    </div>`,
  );
  const finished = (byStatus: Record<TaskStatus, number>): string =>
    `${total(byStatus)} <span class="hint">(${byStatus.SUCCESS} ok, ${byStatus.FAILURE} failed${byStatus.REVOKED ? `, ${byStatus.REVOKED} cancelled` : ''})</span>`;
  return `<section class="card" aria-labelledby="counts-heading">
  <h2 id="counts-heading">Tasks</h2>
  <div class="stat-grid">
    ${tiles.join('\n    ')}
  </div>
  <dl class="facts dashboard-facts">
    <div class="fact"><dt>Finished, last minute</dt><dd>${finished(counts.finished_last_minute)}</dd></div>
    <div class="fact"><dt>Finished, last hour</dt><dd>${finished(counts.finished_last_hour)}</dd></div>
    <div class="fact"><dt>Rate</dt><dd>${rate.per_minute} tasks/min <span class="hint">(last ${rate.window_seconds / 60} minutes)</span></dd></div>
  </dl>
</section>`;
}

function renderDeliveryProblems({ delivery_problems: problems }: DashboardData): string {
  const rows = problems.map(
    (d) => `<tr>
      <td><a href="${escapeHtml(d.page_url)}"><code>${escapeHtml(d.task_id.slice(0, 8))}</code></a></td>
      <td>${escapeHtml(d.target)}</td>
      <td>${d.state === 'FAILED' ? '<span class="badge badge--failure">FAILED</span>' : '<span class="badge badge--warn">retrying</span>'}</td>
      <td class="num">${d.attempts}</td>
      <td class="num">${d.last_http_status ?? ''}</td>
      <td>${d.next_attempt_at ? renderTime(d.next_attempt_at) : ''}</td>
      <td>${d.last_error ? `<code>${escapeHtml(d.last_error.code)}</code> ${escapeHtml(d.last_error.message.slice(0, ERROR_CHARS))}` : ''}</td>
    </tr>`,
  );
  return `<section class="card" aria-labelledby="deliveries-heading">
  <h2 id="deliveries-heading">Delivery problems <span class="count-pill">${problems.length}</span></h2>
  ${
    rows.length === 0
      ? '<p class="empty">No failed or retrying deliveries.</p>'
      : `<div class="table-scroll"><table class="data-table">
    <thead><tr><th scope="col">Task</th><th scope="col">Target</th><th scope="col">State</th><th scope="col" class="num">Attempts</th><th scope="col" class="num">HTTP</th><th scope="col">Next attempt</th><th scope="col">Last error</th></tr></thead>
    <tbody>${rows.join('')}</tbody>
  </table></div>`
  }
</section>`;
}

function renderTasks({ tasks, filters, next_before: nextBefore }: DashboardData, dashboardUrl: string, processors: readonly string[]): string {
  const statusOptions = [`<option value="">All</option>`, ...TASK_STATUSES.map((s) => option(s, s, filters.status === s))];
  const processorNames = [...new Set([...processors, ...(filters.processor ? [filters.processor] : [])])].sort();
  const processorOptions = [`<option value="">All</option>`, ...processorNames.map((p) => option(p, p, filters.processor === p))];
  const rows = tasks.map(renderTaskRow);
  const older = nextBefore === null ? '' : `<a class="older" href="${escapeHtml(pageUrl(dashboardUrl, { ...filters, before: nextBefore }))}">Older tasks →</a>`;
  const newest = filters.before === null ? '' : `<a href="${escapeHtml(pageUrl(dashboardUrl, { ...filters, before: null }))}">← Newest</a>`;
  return `<section class="card" aria-labelledby="tasks-heading">
  <h2 id="tasks-heading">Recent tasks</h2>
  <form class="filter-form" method="get" action="${escapeHtml(dashboardUrl)}">
    <div class="filter-field">
      <label for="filter-status">Status</label>
      <select id="filter-status" name="status">${statusOptions.join('')}</select>
    </div>
    <div class="filter-field">
      <label for="filter-processor">Processor</label>
      <select id="filter-processor" name="processor">${processorOptions.join('')}</select>
    </div>
    ${filters.limit === 50 ? '' : `<input type="hidden" name="limit" value="${filters.limit}">`}
    <button class="button button--secondary" type="submit">Filter</button>
  </form>
  ${
    rows.length === 0
      ? '<p class="empty">No tasks match.</p>'
      : `<div class="table-scroll">
  <table class="data-table tasks-table">
    <thead><tr><th scope="col">Task</th><th scope="col">Processor</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th><th scope="col">Created</th><th scope="col">Finished</th><th scope="col" class="num">Duration</th><th scope="col">Error</th></tr></thead>
    <tbody>
    ${rows.join('\n    ')}
    </tbody>
  </table>
  </div>`
  }
  ${older || newest ? `<p class="pager">${newest}${older}</p>` : ''}
</section>`;
}

function renderTaskRow(task: DashboardTask): string {
  const error = task.error === null ? '' : task.error.message;
  const shortError = error.length > ERROR_CHARS ? `${error.slice(0, ERROR_CHARS)}…` : error;
  return `<tr>
      <td><a href="${escapeHtml(task.page_url)}"><code title="${escapeHtml(task.task_id)}">${escapeHtml(task.task_id.slice(0, 8))}</code></a></td>
      <td><code>${escapeHtml(task.processor)}</code></td>
      <td>${renderBadge(task.status)}</td>
      <td class="num">${task.attempts}</td>
      <td class="nowrap">${renderTime(task.created_at)}</td>
      <td class="nowrap">${task.finished_at === null ? '—' : renderTime(task.finished_at)}</td>
      <td class="num nowrap">${task.duration_ms === null ? '—' : escapeHtml(formatDuration(task.duration_ms))}</td>
      <td class="wrap error-cell"${error === '' ? '' : ` title="${escapeHtml(error)}"`}>${escapeHtml(shortError)}</td>
    </tr>`;
}

/** The dashboard URL for a set of filters; defaults are left out so links stay short. */
function pageUrl(dashboardUrl: string, filters: DashboardFilters): string {
  const params = new URLSearchParams();
  if (filters.status) params.set('status', filters.status);
  if (filters.processor) params.set('processor', filters.processor);
  if (filters.before !== null) params.set('before', String(filters.before));
  if (filters.limit !== 50) params.set('limit', String(filters.limit));
  const query = params.toString();
  return query === '' ? dashboardUrl : `${dashboardUrl}?${query}`;
}

function option(value: string, label: string, selected: boolean): string {
  return `<option value="${escapeHtml(value)}"${selected ? ' selected' : ''}>${escapeHtml(label)}</option>`;
}

function renderBadge(status: TaskStatus): string {
  return `<span class="badge badge--${status.toLowerCase()}">${escapeHtml(status)}</span>`;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function total(counts: Record<TaskStatus, number>): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

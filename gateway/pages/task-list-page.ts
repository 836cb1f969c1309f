import { TASK_STATUSES, type TaskStatus } from '../../shared/index.js';
import type { TaskList } from '../docs/api-schemas.js';
import { escapeHtml, renderLayout } from './layout.js';
import type { Links } from '../links.js';

/** The listing's query, parsed (gateway/routes/task-list.ts). */
export interface TaskListQuery {
  status: TaskStatus | undefined;
  processor: string | undefined;
  limit: number;
  cursor: string | undefined;
}

export interface TaskListPageOptions {
  links: Links;
  list: TaskList;
  query: TaskListQuery;
  /** Every processor this gateway knows, for the filter. */
  processors: readonly string[];
}

/**
 * The Tasks page: the caller's tasks, newest first, each a link to its task page. The filters are
 * a plain GET form and the next page a plain link, so the page needs no JavaScript.
 */
export function renderTaskListPage({ links, list, query, processors }: TaskListPageOptions): string {
  const options = (values: readonly string[], selected: string | undefined, anyLabel: string): string =>
    [`<option value="">${anyLabel}</option>`, ...values.map((v) => `<option${v === selected ? ' selected' : ''}>${escapeHtml(v)}</option>`)].join('');
  const filters = `<form class="task-filters" method="get" action="${escapeHtml(links.to('/tasks'))}">
    <label>Status <select name="status">${options(TASK_STATUSES, query.status, 'Any status')}</select></label>
    <label>Processor <select name="processor">${options(processors, query.processor, 'Any processor')}</select></label>
    <button class="button button--secondary" type="submit">Show</button>
  </form>`;
  const filtered = query.status !== undefined || query.processor !== undefined;
  const rows = list.tasks.map(
    (task) => `<tr>
      <td><a class="task-link" href="${escapeHtml(task.page_url)}" title="${escapeHtml(task.task_id)}"><code>${escapeHtml(task.task_id.slice(0, 8))}</code></a></td>
      <td><code>${escapeHtml(task.processor)}</code></td>
      <td><span class="badge badge--${task.status.toLowerCase()}">${escapeHtml(task.status)}</span></td>
      <td class="nowrap">${time(task.created_at)}</td>
      <td>${task.error === null ? '' : escapeHtml(task.error.message.slice(0, 200))}</td>
    </tr>`,
  );
  const table =
    rows.length === 0
      ? `<p class="empty">${filtered ? 'No tasks match these filters.' : `No tasks yet. <a href="${escapeHtml(links.to('/upload'))}">Submit one</a>.`}</p>`
      : `<div class="table-scroll"><table class="task-table">
    <thead><tr><th scope="col">Task</th><th scope="col">Processor</th><th scope="col">Status</th><th scope="col">Submitted (UTC)</th><th scope="col">Error</th></tr></thead>
    <tbody>${rows.join('')}</tbody>
  </table></div>`;
  const pager = [
    query.cursor === undefined ? '' : `<a href="${escapeHtml(links.to(`/tasks?${filterSearch(query)}`))}">Newest</a>`,
    list.next_url === null ? '' : `<a rel="next" href="${escapeHtml(list.next_url)}">Older tasks</a>`,
  ].filter(Boolean);
  const body = `
<h1>Tasks</h1>
<p class="lede">Your tasks, newest first.</p>
<section class="card" aria-label="Task list">
  ${filters}
  ${table}
  ${pager.length ? `<p class="pager links">${pager.join(' ')}</p>` : ''}
</section>`;
  return renderLayout({ title: 'Tasks', body, links });
}

function filterSearch(query: TaskListQuery): string {
  const params = new URLSearchParams();
  if (query.status) params.set('status', query.status);
  if (query.processor) params.set('processor', query.processor);
  return params.toString();
}

/** UTC, as on the task page (the server cannot know the reader's time zone); the column header says so. */
function time(iso: string): string {
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso.slice(0, 19).replace('T', ' '))}</time>`;
}

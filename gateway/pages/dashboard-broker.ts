import type { DashboardData } from '../routes/dashboard-data.js';
import type { QueueStat } from '../routes/dashboard-operations.js';
import { escapeHtml } from './layout.js';
import { formatBytes } from './schema-fields.js';
import { renderTime } from './dashboard-time.js';
import type { Links } from '../links.js';

/**
 * The dashboard's broker side, in the order an operator acts: first what needs attention (work
 * queues nobody consumes, dead letters, failing deliveries, failed tasks), then the dead letters
 * themselves; the full queue table goes last, folded away unless something in it is wrong. Only a
 * queue whose role needs a consumer is flagged for having none (routes/queue-roles.ts).
 */
const ROLE_LABELS: Record<QueueStat['role'], string> = {
  work: 'work',
  delay: 'retry delay (no consumer by design)',
  holding: 'dead letters (for people)',
  stream: 'stream (read by every worker)',
};

export function idleWorkQueues(data: DashboardData): QueueStat[] {
  return data.broker.reachable ? data.broker.queues.filter((q) => q.role === 'work' && q.consumers === 0) : [];
}

export function renderAttention(data: DashboardData, links: Links): string {
  const items: string[] = [];
  if (!data.broker.reachable) items.push(`Broker unreachable: ${escapeHtml(data.broker.problem)}`);
  const idle = idleWorkQueues(data);
  if (idle.length > 0) {
    items.push(`No consumer on ${idle.map((q) => `<code>${escapeHtml(q.name)}</code>`).join(', ')}: start a worker that serves it, or its messages wait.`);
  }
  const deadLetters = data.broker.reachable ? (data.broker.dead_letters.count ?? data.broker.dead_letters.messages.length) : 0;
  if (deadLetters > 0) items.push(`<a href="#dead-letters-heading">${deadLetters} dead letter${deadLetters === 1 ? '' : 's'}</a> to inspect or redrive.`);
  const failedDeliveries = data.delivery_problems.filter((d) => d.state === 'FAILED').length;
  const retrying = data.delivery_problems.length - failedDeliveries;
  if (data.delivery_problems.length > 0) {
    items.push(`<a href="#deliveries-heading">Deliveries: ${failedDeliveries} failed, ${retrying} retrying</a> (an unreachable target?).`);
  }
  const failed = data.counts.finished_last_hour.FAILURE;
  if (failed > 0) {
    items.push(`<a href="${escapeHtml(`${links.to('/dashboard')}?status=FAILURE`)}">${failed} task${failed === 1 ? '' : 's'} failed in the last hour</a>.`);
  }
  return `<section class="card attention" aria-labelledby="attention-heading">
  <h2 id="attention-heading">Needs attention</h2>
  ${
    items.length === 0
      ? '<p class="all-clear">Nothing: every work queue has a consumer, no dead letters, no failing deliveries, no failures in the last hour.</p>'
      : `<ul class="alert-list">${items.map((item) => `<li class="alert">${item}</li>`).join('')}</ul>`
  }
</section>`;
}

export function renderQueues(data: DashboardData): string {
  const broker = data.broker;
  if (!broker.reachable) return '';
  const rows = broker.queues.map(
    (queue) => `<tr>
      <td><code>${escapeHtml(queue.name)}</code></td>
      <td>${escapeHtml(ROLE_LABELS[queue.role])}</td>
      <td class="num">${queue.messages}</td>
      <td class="num">${renderConsumers(queue)}</td>
    </tr>`,
  );
  const open = idleWorkQueues(data).length > 0 ? ' open' : '';
  return `<section class="card" aria-labelledby="queues-heading">
  <details${open}>
  <summary><h2 id="queues-heading">Queues <span class="count-pill">${broker.queues.length}</span></h2></summary>
  <div class="table-scroll">
  <table class="data-table">
    <thead><tr><th scope="col">Queue</th><th scope="col">Role</th><th scope="col" class="num">Ready</th><th scope="col" class="num">Consumers</th></tr></thead>
    <tbody>
    ${rows.join('\n    ')}
    </tbody>
  </table>
  </div>
  </details>
</section>`;
}

function renderConsumers(queue: QueueStat): string {
  if (queue.consumers === null) return '<span class="hint" title="RabbitMQ does not report a stream’s readers over AMQP">not reported</span>';
  if (queue.consumers === 0 && queue.role === 'work') return '<span class="badge badge--warn">none</span>';
  return String(queue.consumers);
}

export function renderDeadLetters(data: DashboardData, links: Links): string {
  const broker = data.broker;
  if (!broker.reachable) return '';
  const deadLetters = broker.dead_letters;
  const count = deadLetters.count ?? deadLetters.messages.length;
  const redriveUrl = links.to('/dashboard/dead-letters/redrive');
  const letters = deadLetters.messages.map(
    (letter) => `<tr>
      <td class="num">${letter.index + 1}</td>
      <td class="wrap">${letter.reason === null ? '<span class="hint">—</span>' : escapeHtml(letter.reason)}</td>
      <td>${letter.queue === null ? '<span class="hint">unknown</span>' : `<code>${escapeHtml(letter.queue)}</code>`}</td>
      <td class="nowrap">${letter.dead_lettered_at === null ? '—' : renderTime(letter.dead_lettered_at)}</td>
      <td>${letter.type === null ? '—' : `<code>${escapeHtml(letter.type)}</code>`}</td>
      <td class="num nowrap">${escapeHtml(formatBytes(letter.size))}</td>
      <td class="wrap"><details><summary>body</summary><pre>${escapeHtml(letter.body_preview)}</pre></details></td>
    </tr>`,
  );
  return `<section class="card" aria-labelledby="dead-letters-heading">
  <div class="task-header">
    <h2 id="dead-letters-heading">Dead letters <span class="count-pill">${count}</span></h2>
    ${
      count === 0
        ? ''
        : `<form class="redrive-form" method="post" action="${escapeHtml(redriveUrl)}">
      <label for="redrive-limit">Redrive up to</label>
      <input id="redrive-limit" name="limit" type="number" min="1" max="10000" value="100">
      <button class="button" type="submit">Redrive</button>
    </form>`
    }
  </div>
  <p class="hint">Messages that broke their contract or ran out of deliveries, in <code>${escapeHtml(deadLetters.queue)}</code>. Redrive sends them back to the queue they came from.</p>
  ${
    letters.length === 0
      ? '<p class="empty">The dead-letter queue is empty.</p>'
      : `<div class="table-scroll">
  <table class="data-table">
    <thead><tr><th scope="col" class="num">#</th><th scope="col">Reason</th><th scope="col">From queue</th><th scope="col">Dead-lettered</th><th scope="col">Type</th><th scope="col" class="num">Size</th><th scope="col">Body</th></tr></thead>
    <tbody>
    ${letters.join('\n    ')}
    </tbody>
  </table>
  </div>
  ${count > letters.length ? `<p class="hint">Showing the first ${letters.length} of ${count}.</p>` : ''}`
  }
</section>`;
}

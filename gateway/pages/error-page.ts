import { escapeHtml, renderLayout } from './layout.js';
import type { Links } from '../links.js';

export interface ErrorPageOptions {
  links: Links;
  status: number;
  code: string;
  message: string;
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'That request cannot be read',
  401: 'Sign in needed',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Not possible now',
  410: 'Gone',
  413: 'Too large',
  415: 'Not a type this takes',
  429: 'Too many requests',
  503: 'Temporarily unavailable',
  507: 'Out of space',
};

/**
 * What a browser gets instead of the JSON error envelope (http-errors.ts chooses by Accept): the
 * same code and message, and the way back — the form and the task list are one click away.
 */
export function renderErrorPage({ links, status, code, message }: ErrorPageOptions): string {
  const title = TITLES[status] ?? (status >= 500 ? 'Something went wrong on our side' : 'Request refused');
  const body = `
<section class="card error-page" aria-labelledby="error-heading" data-error-code="${escapeHtml(code)}">
  <h1 id="error-heading">${escapeHtml(title)}</h1>
  <p class="error-message">${escapeHtml(message)}</p>
  <p class="hint">HTTP ${status} · code <code>${escapeHtml(code)}</code></p>
  <p class="links">
    <a href="${escapeHtml(links.to('/upload'))}">New task</a>
    <a href="${escapeHtml(links.to('/tasks'))}">Your tasks</a>
  </p>
</section>`;
  return renderLayout({ title, body, links });
}

import { escapeHtml } from './layout.js';

/** UTC, because the server cannot know the reader's time zone and a silent offset misleads. Shared by the dashboard's sections. */
export function renderTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return escapeHtml(iso);
  const full = date.toISOString();
  return `<time datetime="${escapeHtml(full)}" title="${escapeHtml(full)}">${escapeHtml(`${full.slice(0, 10)} ${full.slice(11, 19)}`)}</time>`;
}

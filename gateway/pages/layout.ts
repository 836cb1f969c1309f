import type { Links } from '../links.js';
/**
 * The HTML shell shared by the gateway's pages. Pages are plain template strings: there are two of
 * them, and a template engine would be one more dependency to audit. Every value that did not come
 * from this source file goes through `escapeHtml`. Every page carries the same nav: the form and
 * the caller's task list are always one click away.
 */

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Safe in element content and in quoted attribute values (both quote styles). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
}

export interface LayoutOptions {
  title: string;
  /** Trusted HTML: the page's own markup, already escaped where it embeds data. */
  body: string;
  links: Links;
  /** Trusted extra markup for <head>, e.g. a refresh meta tag. */
  head?: string;
}

export function renderLayout({ title, body, links, head }: LayoutOptions): string {
  const uploadUrl = escapeHtml(links.to('/upload'));
  const tasksUrl = escapeHtml(links.to('/tasks'));
  const stylesheets = ['/static/warren.css', '/static/form.css', '/static/task.css', '/static/pages.css', '/static/result-views.css']
    .map((path) => `<link rel="stylesheet" href="${escapeHtml(links.to(path))}">`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · warren</title>
${stylesheets}
${head ?? ''}
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header">
  <div class="container">
    <a class="brand" href="${uploadUrl}">warren</a>
    <nav class="site-nav" aria-label="Site">
      <a href="${uploadUrl}">New task</a>
      <a href="${tasksUrl}">Tasks</a>
    </nav>
  </div>
</header>
<main id="main" class="container" tabindex="-1">
${body}
</main>
</body>
</html>
`;
}

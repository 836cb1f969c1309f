/**
 * Every URL the gateway hands out — in status documents, webhook payloads, redirects, the HTML
 * pages — built from BASE_PATH in this one place, rather than a base path threaded through every
 * route, page and background job. (Absolute URLs, from a public base URL, would be made here too.)
 */
export interface Links {
  /** BASE_PATH itself (the form's script builds its own requests from it). */
  readonly base: string;
  /** A path under BASE_PATH: `to('/upload')`. */
  to(path: string): string;
  status(taskId: string): string;
  result(taskId: string): string;
  /** The task's HTML page. */
  page(taskId: string): string;
  artifact(taskId: string, name: string): string;
  delivery(taskId: string, target: string): string;
}

export function linksFor(basePath: string): Links {
  const base = basePath.replace(/\/+$/, '');
  const to = (path: string): string => `${base}${path}`;
  return {
    base,
    to,
    status: (taskId) => to(`/task_status/${taskId}`),
    result: (taskId) => to(`/task_result/${taskId}`),
    page: (taskId) => to(`/tasks/${taskId}`),
    artifact: (taskId, name) => to(`/task_result/${taskId}/artifacts/${encodeURIComponent(name)}`),
    delivery: (taskId, target) => to(`/task_deliveries/${taskId}/${target}`),
  };
}

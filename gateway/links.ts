import type { DeliveryTarget } from '../shared/index.js';

/**
 * Every URL the gateway hands out — in status documents, webhook payloads, redirects, the HTML
 * pages — built from BASE_PATH in this one place, rather than a base path threaded through every
 * route, page and background job. Answers to requests carry paths (they work wherever the client
 * reached the gateway); delivered documents carry absolute URLs (deliveryLinks).
 */
export interface Links {
  /** PUBLIC_URL, when configured: the origin (and proxy path) of absolute links. */
  readonly publicUrl: string | undefined;
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

export function linksFor(basePath: string, publicUrl?: string): Links {
  return prefixed(basePath.replace(/\/+$/, ''), publicUrl);
}

function prefixed(base: string, publicUrl: string | undefined): Links {
  const to = (path: string): string => `${base}${path}`;
  return {
    publicUrl,
    base,
    to,
    status: (taskId) => to(`/task_status/${taskId}`),
    result: (taskId) => to(`/task_result/${taskId}`),
    page: (taskId) => to(`/tasks/${taskId}`),
    artifact: (taskId, name) => to(`/task_result/${taskId}/artifacts/${encodeURIComponent(name)}`),
    delivery: (taskId, target) => to(`/task_deliveries/${taskId}/${target}`),
  };
}

/**
 * Links for a document delivered to a target (a webhook body, a status.json dropped in S3): a
 * receiver elsewhere cannot resolve a path, so they are absolute — from PUBLIC_URL, else from the
 * address the submitter reached the gateway at (kept with a webhook target), else paths.
 */
export function deliveryLinks(links: Links, target: DeliveryTarget): Links {
  const origin = links.publicUrl ?? (target.kind === 'webhook' ? target.gateway_url : undefined);
  return origin === undefined ? links : prefixed(`${origin}${links.base}`, links.publicUrl);
}

/** A small HTTP client for tests and benchmarks: submit, poll, fetch results. */
export interface Submitted {
  task_id: string;
  status: string;
  status_url: string;
  result_url: string;
}

export interface StatusDocument {
  task_id: string;
  status: string;
  attempts: number;
  error: { code: string; message: string } | null;
  [key: string]: unknown;
}

const TERMINAL = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

export async function submitForm(baseUrl: string, fields: Record<string, string>): Promise<Response> {
  return fetch(`${baseUrl}/uploader`, { method: 'POST', body: new URLSearchParams(fields), headers: { accept: 'application/json' } });
}

export async function submitJson(baseUrl: string, body: unknown): Promise<Response> {
  return fetch(`${baseUrl}/uploader`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
}

/** Poll task_status until the task is terminal or `timeoutMs` passes. */
export async function waitForTerminal(baseUrl: string | (() => string), taskId: string, timeoutMs = 15_000, intervalMs = 20): Promise<StatusDocument> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const base = typeof baseUrl === 'function' ? baseUrl() : baseUrl;
    const response = await fetch(`${base}/task_status/${taskId}`);
    if (response.status !== 200) throw new Error(`task_status ${taskId} answered ${response.status}: ${await response.text()}`);
    const document = (await response.json()) as StatusDocument;
    if (TERMINAL.has(document.status)) return document;
    if (Date.now() > deadline) throw new Error(`task ${taskId} still ${document.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForTerminal, type StatusDocument, type Submitted } from '../support/client.js';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/**
 * Retention with real processes: results, output files and uploads are kept RESULT_TTL_SECONDS
 * (3 s here: long enough to look at the result first, even on a loaded machine), then the janitor removes them; the expiry is visible (task_result 410 with the time,
 * task_status `expired`), never silent.
 */
const stack = testStack('retention', { WORKER_PROCESSORS: 'echo,thumbnail', RESULT_TTL_SECONDS: '3', JANITOR_INTERVAL_MS: '200' });
let gateway: Gateway;

beforeAll(async () => {
  [gateway] = await Promise.all([stack.gateway(), stack.worker()]);
});

afterAll(() => stack.stop());

async function expiredStatus(id: string, timeoutMs = 15_000): Promise<StatusDocument> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const document = (await (await fetch(`${gateway.url}/task_status/${id}`)).json()) as StatusDocument;
    if (document.expired === true) return document;
    if (Date.now() > deadline) throw new Error(`task ${id} not expired: ${JSON.stringify(document)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function filesGone(paths: string[], timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (paths.some((p) => fs.existsSync(p)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(paths.filter((p) => fs.existsSync(p))).toEqual([]);
}

describe('retention', () => {
  it('expires a finished task after RESULT_TTL_SECONDS: 410 with the time, its files and uploads removed, its status kept', async () => {
    const form = new FormData();
    form.set('processor', 'thumbnail');
    form.set('width', '100');
    form.set('file', new Blob([fs.readFileSync(new URL('../fixtures/invoice.png', import.meta.url))]), 'invoice.png');
    const response = await fetch(`${gateway.url}/uploader`, { method: 'POST', body: form, headers: { accept: 'application/json' } });
    expect(response.status).toBe(202);
    const { task_id: id } = (await response.json()) as Submitted;
    const finished = await waitForTerminal(gateway.url, id);
    expect(finished).toMatchObject({ status: 'SUCCESS', expired: false, expired_at: null });
    const [artifact] = finished.artifacts as { name: string; url: string }[];
    expect((await fetch(`${gateway.url}/task_result/${id}`)).status).toBe(200);
    expect(fs.existsSync(path.join(stack.dataDir, 'artifacts', id))).toBe(true);
    expect(fs.existsSync(path.join(stack.dataDir, 'uploads', id))).toBe(true);

    const expired = await expiredStatus(id);
    expect(expired.status).toBe('SUCCESS'); // the record stays, and says what happened
    expect(Date.parse(String(expired.expired_at))).toBeGreaterThanOrEqual(Date.parse(String(finished.finished_at)) + 3000);

    const gone = await fetch(`${gateway.url}/task_result/${id}`);
    expect(gone.status).toBe(410);
    expect(await gone.json()).toMatchObject({ error: { code: 'result_expired', expired_at: expired.expired_at } });
    expect((await fetch(`${gateway.url}/task_result/${id}/artifacts/${artifact!.name}`)).status).toBe(410);
    // The store says expired first, then the janitor removes the files (gateway/background/janitor.ts): on a loaded machine
    // the status may be read in between.
    await filesGone([path.join(stack.dataDir, 'artifacts', id), path.join(stack.dataDir, 'uploads', id)]);
    const page = await (await fetch(`${gateway.url}/tasks/${id}`)).text();
    expect(page).toContain('expired');
    // The upload is listed by name, but not linked: its file is gone.
    expect(page).toContain('invoice.png');
    expect(page).not.toContain(`/tasks/${id}/inputs/`);
    expect((await fetch(`${gateway.url}/tasks/${id}/inputs/0`)).status).toBe(404);
  });

  it('leaves unfinished tasks alone, however old', async () => {
    const response = await fetch(`${gateway.url}/uploader`, {
      method: 'POST',
      body: new URLSearchParams({ processor: 'echo', sleep_ms: '4500' }),
      headers: { accept: 'application/json' },
    });
    const { task_id: id } = (await response.json()) as Submitted;
    await new Promise((resolve) => setTimeout(resolve, 3500)); // past the TTL while it runs
    const running = (await (await fetch(`${gateway.url}/task_status/${id}`)).json()) as StatusDocument;
    expect(['PENDING', 'STARTED']).toContain(running.status);
    expect(running.expired).toBe(false);
    expect((await waitForTerminal(gateway.url, id)).status).toBe('SUCCESS');
  });
});

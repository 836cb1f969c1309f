import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusDocument } from '../support/client.js';
import { pdfBomb, pngClaiming } from '../support/bombs.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/**
 * Decompression bombs against a real worker, next to another client's work: each bomb fails its
 * own task, permanently, with a code that says why; the other key's tasks, running on the same
 * worker at the same time, all succeed; the worker lives on, its peak RSS under the bound the
 * README documents for its settings (WORKER_MEMORY_BUDGET_MB plus what one 50 ms sample lets a
 * decode add). Before the limits, one 12000 × 12000 bomb took a worker to 1.5 GB, three to 3.5 GB.
 */
const SECRETS = { mallory: 'mallory-0123456789abcdef', alice: 'alice-0123456789abcdef00' };
const API_KEYS = Object.entries(SECRETS)
  .map(([name, secret]) => `${name}:${secret}`)
  .join(',');
const BUDGET_MB = 700;
/** Generous for a loaded 2-core machine (the run below peaks near the budget), and far under 1.5 GB. */
const RSS_BOUND_MB = BUDGET_MB + 400;
const stack = testStack('decoder-memory', {
  API_KEYS,
  WORKER_PROCESSORS: 'document,echo',
  OCR_THREADS: '1',
  // Four documents at once, so the bombs run alongside Alice's tasks rather than before or after them.
  PROCESSOR_CONCURRENCY: 'document:4,echo:2',
  WORKER_MEMORY_BUDGET_MB: String(BUDGET_MB),
});
let worker: WarrenProcess;
let gateway: Gateway;

beforeAll(async () => {
  [worker, gateway] = await Promise.all([stack.worker(), stack.gateway()]);
  await worker.waitForLog((line) => line.msg === 'processor ready' && line.processor === 'document', 60_000);
}, 90_000);

afterAll(() => stack.stop(), 60_000);

type Who = keyof typeof SECRETS;
const bearer = (who: Who): Record<string, string> => ({ authorization: `Bearer ${SECRETS[who]}` });
const fixture = (name: string): Uint8Array => fs.readFileSync(path.join('test/fixtures', name));

async function upload(who: Who, name: string, data: Uint8Array, fields: Record<string, string> = { processor: 'document' }): Promise<string> {
  const form = new FormData();
  for (const [field, value] of Object.entries(fields)) form.set(field, value);
  form.append('file', new Blob([data]), name);
  const response = await fetch(`${gateway.url}/uploader`, { method: 'POST', body: form, headers: { accept: 'application/json', ...bearer(who) } });
  expect(response.status, await response.clone().text()).toBe(202);
  return ((await response.json()) as { task_id: string }).task_id;
}

async function finished(who: Who, id: string): Promise<StatusDocument> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const response = await fetch(`${gateway.url}/task_status/${id}`, { headers: { ...bearer(who), prefer: 'wait=10' } });
    const status = (await response.json()) as StatusDocument;
    if (['SUCCESS', 'FAILURE', 'REVOKED'].includes(status.status)) return status;
  }
  throw new Error(`task ${id} did not finish`);
}

async function result<T>(who: Who, id: string): Promise<T> {
  return (await (await fetch(`${gateway.url}/task_result/${id}`, { headers: bearer(who) })).json()) as T;
}

/** The kernel's record of the process's peak resident memory. */
function peakRssMb(pid: number): number {
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

interface DocumentResult {
  text: string;
  pages: { method: string }[];
}

describe('decoder memory limits on a worker shared by two API keys', () => {
  it("fails each bomb's task alone, permanently, while the other key's tasks on the same worker succeed, and the worker stays under its bound", async () => {
    const [imageBomb, manyImages] = await Promise.all([pdfBomb(12_000, 12_000), pdfBomb(6000, 6000, { images: 6 })]);
    const alice = [
      upload('alice', 'invoice.png', fixture('invoice.png')),
      upload('alice', 'two-pages.pdf', fixture('two-pages.pdf')),
      upload('alice', 'scanned.pdf', fixture('scanned.pdf')),
    ];
    const mallory = [
      // 141 KB; 432 MB of RGB once decoded: refused from the image's dictionary (MAX_IMAGE_PIXELS).
      upload('mallory', 'bomb.pdf', imageBomb),
      // Six images each under the limit, 1.3 GB together: stopped by the memory budget.
      upload('mallory', 'many.pdf', manyImages),
      upload('mallory', 'bomb.png', pngClaiming(12_000, 12_000)),
    ];
    const [aliceIds, malloryIds] = await Promise.all([Promise.all(alice), Promise.all(mallory)]);

    const bombs = await Promise.all(malloryIds.map((id) => finished('mallory', id)));
    expect(bombs.map((status) => [status.status, status.attempts, status.error?.code])).toEqual([
      ['FAILURE', 1, 'image_too_large'],
      ['FAILURE', 1, 'memory_budget_exceeded'],
      ['FAILURE', 1, 'image_too_large'],
    ]);
    expect(bombs[0]!.error!.message).toBe('image too large: 12000 × 12000 pixels (144 MP) on page 1 is more than the 100-megapixel limit (MAX_IMAGE_PIXELS)');
    expect(bombs[1]!.error!.message).toMatch(new RegExp(`over its budget of ${BUDGET_MB} MB \\(WORKER_MEMORY_BUDGET_MB\\)$`));

    const statuses = await Promise.all(aliceIds.map((id) => finished('alice', id)));
    expect(statuses.map((status) => [status.status, status.attempts])).toEqual([
      ['SUCCESS', 1],
      ['SUCCESS', 1],
      ['SUCCESS', 1],
    ]);
    const [invoice, twoPages, scanned] = await Promise.all(aliceIds.map((id) => result<DocumentResult>('alice', id)));
    expect(invoice!.text).toMatch(/INVOICE/);
    expect(twoPages!.pages.map((page) => page.method)).toEqual(['pdf-text', 'pdf-text']);
    expect(scanned!.pages[0]!.method).toBe('ocr');
    expect(scanned!.text).toMatch(/INVOICE/);

    // The same process, still serving.
    expect(worker.child.exitCode).toBeNull();
    const after = await upload('alice', 'invoice.png', fixture('invoice.png'));
    expect((await finished('alice', after)).status).toBe('SUCCESS');
    expect(worker.logs.filter((line) => line.msg === 'worker consuming')).toHaveLength(1);
    const peak = peakRssMb(worker.child.pid!);
    console.log(`decoder-memory: worker peak RSS ${Math.round(peak)} MB (budget ${BUDGET_MB} MB, bound ${RSS_BOUND_MB} MB)`);
    expect(peak).toBeLessThan(RSS_BOUND_MB);
  }, 60_000);

  it("takes no more of a processor's tasks at once than its concurrency", async () => {
    expect(worker.logs.find((line) => line.msg === 'worker consuming')).toMatchObject({ concurrency: 16, prefetch: { document: 4, echo: 2 } });
    const ids = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const response = await fetch(`${gateway.url}/uploader`, {
          method: 'POST',
          body: JSON.stringify({ processor: 'echo', sleep_ms: 500 }),
          headers: { 'content-type': 'application/json', ...bearer('alice') },
        });
        return ((await response.json()) as { task_id: string }).task_id;
      }),
    );
    const started = (await Promise.all(ids.map((id) => finished('alice', id)))).map((status) => Date.parse(String(status.started_at))).sort((a, b) => a - b);
    // Two at once: the third starts only when one of the first two has slept its 500 ms.
    expect(started[1]! - started[0]!).toBeLessThan(400);
    expect(started[2]! - started[0]!).toBeGreaterThanOrEqual(450);
  }, 30_000);
});

import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitForm, submitJson, waitForTerminal, type Submitted } from '../support/client.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/** The built-in processors through HTTP, with real files, one real worker serving them all. */
const stack = testStack('processors', { WORKER_PROCESSORS: 'all', DEFAULT_PROCESSOR: 'categorize' });
const fixture = (name: string): Blob => new Blob([fs.readFileSync(path.join('test/fixtures', name))]);
let worker: WarrenProcess;
let gateway: Gateway;

beforeAll(async () => {
  [worker, gateway] = await Promise.all([stack.worker(), stack.gateway()]);
  await worker.waitForLog((line) => line.msg === 'processor ready' && line.processor === 'document', 60_000);
}, 90_000);

afterAll(() => stack.stop());

async function uploadAndWait(fields: Record<string, string>, files: { name: string; data: Blob }[]): Promise<string> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  for (const file of files) form.append('file', file.data, file.name);
  const response = await fetch(`${gateway.url}/uploader`, { method: 'POST', body: form, headers: { accept: 'application/json' } });
  expect(response.status, await response.clone().text()).toBe(202);
  const { task_id } = (await response.json()) as Submitted;
  const status = await waitForTerminal(gateway.url, task_id, 60_000);
  expect(status.status, JSON.stringify(status.error)).toBe('SUCCESS');
  return task_id;
}

interface DocumentResult {
  text: string;
  pages: { method: string; words: { text: string; confidence: number; bbox: { x0: number; y0: number; x1: number; y1: number } }[] }[];
}

describe('built-in processors over HTTP', () => {
  it('categorizes a product by default, as the original system did', async () => {
    const response = await submitForm(gateway.url, { item_a: 'Galaxy S23 Ultra 256GB', item_b: 'Samsung' });
    expect(response.status).toBe(202);
    const { task_id, processor } = (await response.json()) as Submitted & { processor: string };
    expect(processor).toBe('categorize');
    expect((await waitForTerminal(gateway.url, task_id)).status).toBe('SUCCESS');
    const result = (await (await fetch(`${gateway.url}/task_result/${task_id}`)).json()) as {
      category: string;
      confidence: number;
      alternatives: { category: string; confidence: number }[];
    };
    expect(result.category).toBe('Smartphones');
    expect(result.confidence).toBeGreaterThan(0.5);
    expect(result.alternatives).toHaveLength(2);
  });

  it('reads the printed words of a PNG, with word boxes', async () => {
    const id = await uploadAndWait({ processor: 'document' }, [{ name: 'invoice.png', data: fixture('invoice.png') }]);
    const result = (await (await fetch(`${gateway.url}/task_result/${id}`)).json()) as DocumentResult;
    expect(result.text).toMatch(/INVOICE/);
    expect(result.text).toMatch(/Total/);
    const words = result.pages[0]!.words;
    expect(words.length).toBeGreaterThan(3);
    expect(words.every((w) => w.bbox.x1 > w.bbox.x0 && w.bbox.y1 > w.bbox.y0 && w.confidence > 0)).toBe(true);
  }, 60_000);

  it('gives the text of a text PDF', async () => {
    const id = await uploadAndWait({ processor: 'document' }, [{ name: 'two-pages.pdf', data: fixture('two-pages.pdf') }]);
    const result = (await (await fetch(`${gateway.url}/task_result/${id}`)).json()) as DocumentResult;
    expect(result.pages.map((p) => p.method)).toEqual(['pdf-text', 'pdf-text']);
    expect(result.text.length).toBeGreaterThan(20);
  });

  it('keeps the worker responsive while OCR runs: an echo task on the same worker completes first', async () => {
    const tall = await sharp({ create: { width: 1600, height: 2200, channels: 3, background: '#ffffff' } })
      .composite([
        {
          input: Buffer.from(
            `<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="2200">${Array.from({ length: 40 }, (_, i) => `<text x="40" y="${60 + i * 52}" font-family="DejaVu Sans" font-size="34">Line ${i + 1}: the quick brown fox jumps over the lazy dog</text>`).join('')}</svg>`,
          ),
        },
      ])
      .png()
      .toBuffer();
    const form = new FormData();
    form.set('processor', 'document');
    form.append('file', new Blob([tall]), 'tall.png');
    const ocr = (await (await fetch(`${gateway.url}/uploader`, { method: 'POST', body: form })).json()) as Submitted;
    // Wait until the OCR is really running, then send a quick task to the same worker.
    while (((await (await fetch(`${gateway.url}/task_status/${ocr.task_id}`)).json()) as { status: string }).status !== 'STARTED') {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const echo = (await (await submitForm(gateway.url, { item_a: 'quick' })).json()) as Submitted;
    const echoDone = await waitForTerminal(gateway.url, echo.task_id, 30_000, 5);
    const ocrNow = (await (await fetch(`${gateway.url}/task_status/${ocr.task_id}`)).json()) as { status: string };
    expect(echoDone.status).toBe('SUCCESS');
    expect(ocrNow.status).toBe('STARTED');
    expect((await waitForTerminal(gateway.url, ocr.task_id, 60_000)).status).toBe('SUCCESS');
  }, 90_000);

  it('turns three todos into a calendar with three events, served as text/calendar', async () => {
    const response = await submitJson(gateway.url, {
      processor: 'ical',
      todos: [
        { title: 'Send invoice', description: 'INV-1187', deadline_at: '2026-12-01T09:00:00Z' },
        { title: 'Renew domain', deadline_at: '2026-12-15' },
        { title: 'Team retro', deadline_at: '2026-12-19T15:30:00+01:00', id: 'retro-2026' },
      ],
    });
    expect(response.status).toBe(202);
    const { task_id } = (await response.json()) as Submitted;
    expect((await waitForTerminal(gateway.url, task_id)).status).toBe('SUCCESS');
    const calendar = await fetch(`${gateway.url}/task_result/${task_id}`);
    expect(calendar.headers.get('content-type')).toMatch(/^text\/calendar/);
    const text = await calendar.text();
    expect(text.startsWith('BEGIN:VCALENDAR')).toBe(true);
    expect(text.match(/BEGIN:VEVENT/g)).toHaveLength(3);
    expect(text).toContain('SUMMARY:Renew domain');
  });

  it('makes a WebP thumbnail of an image', async () => {
    const png = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer();
    const id = await uploadAndWait({ processor: 'thumbnail', width: '200' }, [{ name: 'photo.png', data: new Blob([png]) }]);
    const response = await fetch(`${gateway.url}/task_result/${id}`);
    expect(response.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 200, 150]);
  });

  it('refuses a .png that is really a text file with 415, naming the accepted types', async () => {
    const form = new FormData();
    form.set('processor', 'thumbnail');
    form.append('file', new Blob(['just some text, not an image'], { type: 'image/png' }), 'photo.png');
    const response = await fetch(`${gateway.url}/uploader`, { method: 'POST', body: form });
    expect(response.status).toBe(415);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('unsupported_file_type');
    expect(body.error.message).toMatch(/is text\/plain; processor "thumbnail" accepts image\/png, image\/jpeg/);
  });
});

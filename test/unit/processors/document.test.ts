import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, type ProcessorContext } from '../../../shared/index.js';
import { document, type DocumentResult, type PageResult } from '../../../worker/processors/document/index.js';
import { testContext, type TestContext } from '../../support/processor-context.js';
import { IMAGE_LINES, PDF_PAGES, PLAIN_TEXT } from '../../fixtures/make-fixtures.js';

const fixture = (name: string): Buffer => fs.readFileSync(fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url)));

let t: TestContext;
beforeAll(async () => {
  await document.setup?.(pino({ level: 'silent' }));
}, 60_000);
afterAll(async () => {
  await document.teardown?.();
});
// Every context a test made is removed: some tests run the processor more than once.
const opened: TestContext[] = [];
afterEach(() => opened.splice(0).forEach((context) => context.cleanup()));
function fresh(): TestContext {
  const context = testContext();
  opened.push(context);
  return context;
}

async function run(
  name: string,
  data: Uint8Array,
  contentType: string,
  fields: Record<string, unknown> = {},
  ctx?: (base: ProcessorContext) => ProcessorContext,
): Promise<DocumentResult> {
  t = fresh();
  const file = t.addFile(name, data, contentType);
  return (await document.run({ fields, files: [file] }, ctx ? ctx(t.ctx) : t.ctx)) as DocumentResult;
}

/** OCR may misread a character; each printed line must still be recognisable by its key word. */
function expectInvoiceText(text: string): void {
  for (const word of ['INVOICE', 'Total', 'Thank']) expect(text.toLowerCase()).toContain(word.toLowerCase());
  expect(text).toMatch(/1,?250/);
}

function expectOcrPage(page: PageResult | undefined, width: number, height: number): void {
  expect(page).toMatchObject({ method: 'ocr', width, height });
  expect(page!.confidence).toBeGreaterThan(50);
  expect(page!.lines.length).toBe(IMAGE_LINES.length);
  expect(page!.words.length).toBeGreaterThanOrEqual(10);
  for (const word of page!.words) {
    expect(word.text.trim()).not.toBe('');
    expect(word.confidence).toBeGreaterThanOrEqual(0);
    expect(word.confidence).toBeLessThanOrEqual(100);
    const { x0, y0, x1, y1 } = word.bbox;
    expect(0 <= x0 && x0 < x1 && x1 <= width && 0 <= y0 && y0 < y1 && y1 <= height, JSON.stringify(word)).toBe(true);
  }
}

function expectProgress(): void {
  expect(t.progress.length).toBeGreaterThan(1);
  const fractions = t.progress.map((p) => p.fraction);
  expect(fractions.every((f) => f >= 0 && f <= 1)).toBe(true);
  expect(fractions.at(-1)).toBe(1);
}

describe('document processor: images (OCR)', () => {
  it('reads the printed words of a PNG, with word boxes inside the image and confidences', async () => {
    const result = await run('invoice.png', fixture('invoice.png'), 'image/png');
    expectInvoiceText(result.text);
    expect(result.pages).toHaveLength(1);
    expectOcrPage(result.pages[0], 1200, 320);
    expect(result.page_count).toBe(1);
    expect(result.engine).toEqual({ ocr: expect.stringMatching(/^tesseract\.js \d+\.\d+\.\d+$/), language: 'eng' });
    expect(result.timings.per_page_ms).toHaveLength(1);
    expect(result.timings.total_ms).toBeGreaterThanOrEqual(result.timings.per_page_ms[0]!);
    expectProgress();
  });

  it('reads a JPEG', async () => {
    const result = await run('invoice.jpg', fixture('invoice.jpg'), 'image/jpeg');
    expectInvoiceText(result.text);
    expectOcrPage(result.pages[0], 1200, 320);
  });

  it('reads a WebP (converted for tesseract) and every page of a multi-page TIFF', async () => {
    const png = fixture('invoice.png');
    const webp = await run('invoice.webp', await sharp(png).webp({ quality: 90 }).toBuffer(), 'image/webp');
    expectInvoiceText(webp.text);

    const tiff = await sharp([png, png], { join: { animated: true } })
      .tiff()
      .toBuffer();
    const result = await run('invoice.tiff', tiff, 'image/tiff');
    expect(result.pages.map((p) => p.page)).toEqual([1, 2]);
    for (const page of result.pages) expectOcrPage(page, 1200, 320);
    expect(result.text.split('\n\n')).toHaveLength(2);

    const first = await run('invoice.tiff', tiff, 'image/tiff', { pages: 1 });
    expect(first.pages).toHaveLength(1);
    expect(first.page_count).toBe(2);
  });

  it('keeps the event loop free while tesseract works', async () => {
    let last = performance.now();
    let maxGap = 0;
    let ticks = 0;
    let elapsed = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 10);
    try {
      // One page four invoices tall: a single recognize call of ~0.5 s on two cores, which would
      // show as a gap of that size were it to run on this thread.
      const png = fixture('invoice.png');
      const tall = await sharp([png, png, png, png], { join: { across: 1 } })
        .png()
        .toBuffer();
      const began = performance.now();
      const result = await run('tall.png', tall, 'image/png');
      elapsed = performance.now() - began;
      expect(result.pages[0]?.lines.length).toBe(4 * IMAGE_LINES.length);
      expect(ticks).toBeGreaterThan(elapsed / 10 / 3);
    } finally {
      clearInterval(timer);
    }
    // Recognition on this thread would stall the loop for about the whole run. The bound is relative
    // so that a machine loaded by other work (which slows OCR and the timer alike) cannot fail it,
    // and never below 200 ms.
    expect(maxGap).toBeLessThan(Math.max(200, elapsed / 2));
  });

  it('refuses bytes that are not the image they claim to be', async () => {
    const failure = run('invoice.png', Buffer.from('this is not a PNG, just text pretending'), 'image/png');
    await expect(failure).rejects.toBeInstanceOf(PermanentError);
    await expect(failure).rejects.toMatchObject({ code: 'unsupported_file' });
    // A truncated PNG has a valid header but no image.
    await expect(run('cut.png', fixture('invoice.png').subarray(0, 200), 'image/png')).rejects.toMatchObject({ code: 'unsupported_file' });
  });
});

describe('document processor: PDF', () => {
  it('reads both pages of a text PDF from its text layer', async () => {
    const result = await run('two-pages.pdf', fixture('two-pages.pdf'), 'application/pdf');
    expect(result.pages.map((p) => [p.page, p.method])).toEqual([
      [1, 'pdf-text'],
      [2, 'pdf-text'],
    ]);
    expect(result.text).toBe(PDF_PAGES.join('\n\n'));
    expect(result.page_count).toBe(2);
    expect(result.timings.per_page_ms).toHaveLength(2);
    for (const page of result.pages) {
      expect(page).toMatchObject({ width: 595, height: 842, words: [] });
      const box = page.lines[0]!.bbox!;
      // Drawn at y = 760 from the bottom: near the top in top-left coordinates.
      expect(box.x0).toBeCloseTo(50, 0);
      expect(box.y1).toBeCloseTo(842 - 760, 0);
    }
    expectProgress();
  });

  it('stops at the pages limit', async () => {
    const result = await run('two-pages.pdf', fixture('two-pages.pdf'), 'application/pdf', { pages: 1 });
    expect(result.pages).toHaveLength(1);
    expect(result.page_count).toBe(2);
    expect(result.text).toBe(PDF_PAGES[0]);
  });

  it('OCRs the embedded scan of a page without a text layer', async () => {
    const result = await run('scanned.pdf', fixture('scanned.pdf'), 'application/pdf');
    expect(result.pages[0]).toMatchObject({ method: 'ocr', note: expect.stringContaining('no text layer') });
    expectInvoiceText(result.text);
  });

  it('refuses a file that is not a PDF', async () => {
    await expect(run('fake.pdf', Buffer.from('%PDF-1.7 but nothing else'), 'application/pdf')).rejects.toMatchObject({ code: 'unsupported_file' });
  });
});

describe('document processor: plain text', () => {
  it('passes text through as one page of lines', async () => {
    const result = await run('note.txt', fixture('note.txt'), 'text/plain');
    expect(result.text).toBe(PLAIN_TEXT.trimEnd());
    expect(result.pages).toEqual([
      {
        page: 1,
        method: 'plain',
        lines: PLAIN_TEXT.trimEnd()
          .split('\n')
          .map((text) => ({ text })),
        words: [],
      },
    ]);
    expectProgress();
  });

  it('refuses bytes that are not UTF-8', async () => {
    await expect(run('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), 'text/plain')).rejects.toMatchObject({ code: 'unsupported_file' });
  });
});

describe('document processor: concurrency', () => {
  it('runs as many tasks at once as the worker has cores, unless configured otherwise', () => {
    expect(document.concurrency).toBe(os.availableParallelism());
  });
});

describe('document processor: cancellation', () => {
  it('does not start when the signal is already aborted', async () => {
    t = fresh();
    const file = t.addFile('invoice.png', fixture('invoice.png'), 'image/png');
    t.abort(new Error('cancelled by client'));
    await expect(document.run({ fields: {}, files: [file] }, t.ctx)).rejects.toThrow('cancelled by client');
    expect(t.progress).toEqual([]);
  });

  it('stops between pages when aborted mid-run', async () => {
    const pagesRead: number[] = [];
    const failure = run('two-pages.pdf', fixture('two-pages.pdf'), 'application/pdf', {}, (base) => ({
      ...base,
      progress(fraction, message) {
        base.progress(fraction, message);
        if (message?.endsWith('done')) {
          pagesRead.push(fraction);
          t.abort(new Error('cancelled by client'));
        }
      },
    }));
    await expect(failure).rejects.toThrow('cancelled by client');
    expect(pagesRead).toEqual([0.5]);
  });
});

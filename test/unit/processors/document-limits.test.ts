import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../../shared/index.js';
import { configureDecoderLimits, decoderLimits } from '../../../worker/processors/decoder-limits.js';
import { document, type DocumentResult } from '../../../worker/processors/document/index.js';
import { largestDeclaredImage } from '../../../worker/processors/document/pdf-image-sizes.js';
import { pdfBomb, pngClaiming, tiffClaiming } from '../../support/bombs.js';
import { testContext, type TestContext } from '../../support/processor-context.js';

/**
 * The document processor's memory limits: images over MAX_IMAGE_PIXELS are refused from their
 * headers before anything decodes them, and a PDF page whose images together take the worker past
 * WORKER_MEMORY_BUDGET_MB is stopped. Either way only that task fails, permanently, with its code.
 */
const MB = 2 ** 20;
const fixture = (name: string): Buffer => fs.readFileSync(fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url)));

beforeAll(async () => {
  await document.setup?.(pino({ level: 'silent' }));
}, 60_000);
afterAll(async () => {
  await document.teardown?.();
});
const opened: TestContext[] = [];
afterEach(() => {
  opened.splice(0).forEach((context) => context.cleanup());
  configureDecoderLimits({});
});

function run(name: string, data: Uint8Array, contentType: string): Promise<DocumentResult> {
  const t = testContext();
  opened.push(t);
  return document.run({ fields: {}, files: [t.addFile(name, data, contentType)] }, t.ctx) as Promise<DocumentResult>;
}

/** How the run settled, and how far this process's RSS rose above where it was when the run began. */
async function measured<T>(work: () => Promise<T>): Promise<{ outcome: T | PermanentError; growthMb: number }> {
  const before = process.memoryUsage.rss();
  let peak = before;
  // The decoders work in other threads, so this thread is free to sample meanwhile.
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  try {
    const outcome = await work().catch((error: unknown) => {
      if (error instanceof PermanentError) return error;
      throw error;
    });
    return { outcome, growthMb: (Math.max(peak, process.memoryUsage.rss()) - before) / MB };
  } finally {
    clearInterval(timer);
  }
}

function expectFailure(outcome: unknown, code: string, message: RegExp): void {
  expect(outcome).toBeInstanceOf(PermanentError);
  expect((outcome as PermanentError).code).toBe(code);
  expect((outcome as PermanentError).message).toMatch(message);
}

describe('document processor: images over MAX_IMAGE_PIXELS', () => {
  it('refuses a 141 KB PDF that embeds a 12000 × 12000 image before pdf.js decodes it, naming the size and the limit', async () => {
    const bomb = await pdfBomb(12_000, 12_000);
    expect(bomb.length).toBeLessThan(200_000);
    const { outcome, growthMb } = await measured(() => run('bomb.pdf', bomb, 'application/pdf'));
    expectFailure(
      outcome,
      'image_too_large',
      /^image too large: 12000 × 12000 pixels \(144 MP\) on page 1 is more than the 100-megapixel limit \(MAX_IMAGE_PIXELS\)$/,
    );
    // Decoded it is 432 MB of RGB, and 1.4 GB on its way through OCR; refused, a PDF thread's worth.
    expect(growthMb).toBeLessThan(300);
  }, 30_000);

  it('refuses a PNG and a TIFF whose headers claim more pixels than the limit, from a few bytes', async () => {
    const png = await measured(() => run('bomb.png', pngClaiming(12_000, 12_000), 'image/png'));
    expectFailure(png.outcome, 'image_too_large', /^image too large: 12000 × 12000 pixels \(144 MP\) is more than the 100-megapixel limit/);
    const tiff = await measured(() => run('bomb.tiff', tiffClaiming(100_000, 100_000), 'image/tiff'));
    expectFailure(tiff.outcome, 'image_too_large', /^image too large: 100000 × 100000 pixels \(10000 MP\)/);
    expect(Math.max(png.growthMb, tiff.growthMb)).toBeLessThan(100);
  });

  it('takes the limit from MAX_IMAGE_PIXELS, for image files and for the scans inside PDFs', async () => {
    configureDecoderLimits({ maxImagePixels: 300_000 });
    // invoice.png is 1200 × 320; scanned.pdf holds the same page as a JPEG.
    expectFailure(
      (await measured(() => run('invoice.png', fixture('invoice.png'), 'image/png'))).outcome,
      'image_too_large',
      /1200 × 320 pixels \(0.384 MP\) is more than the 0.3-megapixel limit/,
    );
    const scanned = await measured(() => run('scanned.pdf', fixture('scanned.pdf'), 'application/pdf'));
    expectFailure(scanned.outcome, 'image_too_large', /1200 × 320 pixels \(0.384 MP\) on page 1 is more than the 0.3-megapixel limit/);
    // A text PDF decodes no image: the limit does not touch it.
    expect((await run('two-pages.pdf', fixture('two-pages.pdf'), 'application/pdf')).pages.map((page) => page.method)).toEqual(['pdf-text', 'pdf-text']);
  }, 30_000);

  it('reads the declared size of a PDF image from its dictionary, and not from a reference', async () => {
    expect(largestDeclaredImage(await pdfBomb(12_000, 9_000))).toEqual({ width: 12_000, height: 9_000 });
    const byReference = Buffer.from('7 0 obj\n<< /Type /XObject /Subtype /Image /Width 12 0 R /Height 34 0 R >>\nstream\n');
    expect(largestDeclaredImage(byReference)).toBeUndefined();
  });
});

describe('document processor: WORKER_MEMORY_BUDGET_MB', () => {
  it('stops a PDF page whose images together pass the budget, failing only its task', async () => {
    // Six 36 MP images, each under MAX_IMAGE_PIXELS: ~1.3 GB once pdf.js has decoded them all.
    const bomb = await pdfBomb(6000, 6000, { images: 6 });
    const budgetMb = Math.round(process.memoryUsage.rss() / MB) + 300;
    configureDecoderLimits({ memoryBudgetMb: budgetMb });
    const { outcome, growthMb } = await measured(() =>
      Promise.all([run('bomb.pdf', bomb, 'application/pdf').catch((error: unknown) => error), run('scanned.pdf', fixture('scanned.pdf'), 'application/pdf')]),
    );
    const [bombed, scanned] = outcome as [unknown, DocumentResult];
    expectFailure(
      bombed,
      'memory_budget_exceeded',
      new RegExp(
        `^memory budget exceeded: decoding the images of page 1 took the worker to \\d+ MB, over its budget of ${budgetMb} MB \\(WORKER_MEMORY_BUDGET_MB\\)$`,
      ),
    );
    // The scan waited its turn and was read as usual.
    expect(scanned.pages[0]).toMatchObject({ method: 'ocr' });
    expect(scanned.text).toMatch(/INVOICE/);
    // The budget plus what one 50 ms sample lets pdf.js add, with room for a loaded machine.
    expect(growthMb).toBeLessThan(300 + 250);
  }, 60_000);

  it('without a configured budget, stops decodes short of the memory the worker has, to leave room for the rest', () => {
    const { memoryBudgetBytes } = decoderLimits();
    expect(memoryBudgetBytes).toBeGreaterThan(0);
    expect(memoryBudgetBytes).toBeLessThanOrEqual(os.totalmem() * 0.75);
    configureDecoderLimits({ memoryBudgetMb: 512 });
    expect(decoderLimits().memoryBudgetBytes).toBe(512 * MB);
  });
});

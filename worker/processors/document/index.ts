import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import {
  DOCUMENT_DEFAULT_PAGES,
  DOCUMENT_MAX_PAGES,
  documentDescriptor,
  PermanentError,
  type FileRef,
  type Logger,
  type Processor,
  type ProcessorContext,
} from '../../../shared/index.js';
import { DECODER_CONCURRENCY, decoderLimits } from '../decoder-limits.js';
import { imagePageCount, prepareImageFile, prepareRawImage } from './images.js';
import { OCR_ENGINE, OCR_LANGUAGE, OcrEngine } from './ocr.js';
import { PdfReader } from './pdf.js';
import { plainTextPage } from './plain.js';
import type { DocumentResult, PageResult } from './types.js';

export type { DocumentResult, PageResult } from './types.js';

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/tiff', 'image/webp']);
/** Only TIFF is a multi-page document; the extra frames of an animated WebP are not pages. */
const MULTI_PAGE_TYPES = new Set(['image/tiff']);

let engine: Promise<OcrEngine> | undefined;

/** OCR threads per worker process (OCR_THREADS); undefined: min(2, cores). */
let ocrThreads: number | undefined;

function ocrEngine(log: Logger): Promise<OcrEngine> {
  // setup() normally starts it; starting on first use keeps a run without setup working.
  engine ??= OcrEngine.create(log, ocrThreads).catch((error: unknown) => {
    engine = undefined;
    throw error;
  });
  return engine;
}

/** Reads one page at a time, reports progress after each, and stops between pages on abort. */
class PageRun {
  readonly pages: PageResult[] = [];
  readonly perPageMs: number[] = [];

  constructor(
    private readonly ctx: ProcessorContext,
    readonly total: number,
  ) {}

  async add(index: number, read: (onProgress: (fraction: number) => void) => Promise<PageResult>): Promise<void> {
    this.ctx.signal.throwIfAborted();
    const began = performance.now();
    const label = `page ${index + 1} of ${this.total}`;
    const page = await read((fraction) => this.ctx.progress((index + fraction) / this.total, label));
    this.perPageMs.push(Math.round(performance.now() - began));
    this.pages.push(page);
    this.ctx.progress((index + 1) / this.total, `${label} done`);
    // An OCR in flight is allowed to finish; its result is not worth anything once cancelled.
    this.ctx.signal.throwIfAborted();
  }
}

async function readImage(file: FileRef, ctx: ProcessorContext, maxPages: number): Promise<{ run: PageRun; pageCount: number }> {
  const bytes = await readFile(ctx.filePath(file));
  // Also where bytes that do not decode are refused, before any OCR is queued.
  const frames = await imagePageCount(bytes, file.content_type);
  const pageCount = MULTI_PAGE_TYPES.has(file.content_type) ? frames : 1;
  const ocr = await ocrEngine(ctx.log);
  const run = new PageRun(ctx, Math.min(pageCount, maxPages));
  for (let index = 0; index < run.total; index++) {
    await run.add(index, async (onProgress) => ocr.recognize(await prepareImageFile(bytes, file.content_type, index), index + 1, onProgress));
  }
  return { run, pageCount };
}

async function readPdf(file: FileRef, ctx: ProcessorContext, maxPages: number): Promise<{ run: PageRun; pageCount: number }> {
  const reader = await PdfReader.open(ctx.filePath(file), ctx.signal, decoderLimits());
  try {
    const run = new PageRun(ctx, Math.min(reader.pages, maxPages));
    for (let index = 0; index < run.total; index++) {
      await run.add(index, async (onProgress) => {
        const { page, width, height, lines, error } = await reader.page(index + 1);
        const size = width === undefined || height === undefined ? {} : { width, height };
        if (error !== undefined) {
          ctx.log.info({ page, err: error }, 'PDF page unreadable');
          return { page, ...size, method: 'none', note: `page could not be read: ${error}`, lines: [], words: [] };
        }
        if (lines.length > 0) return { page, ...size, method: 'pdf-text', lines, words: [] };
        // Only a page without text has its images decoded: that is where a PDF's memory goes.
        const { image, error: imageError } = await reader.image(page);
        if (imageError !== undefined) {
          ctx.log.info({ page, err: imageError }, 'PDF page images unreadable');
          return { page, ...size, method: 'none', note: `the page's images could not be read: ${imageError}`, lines: [], words: [] };
        }
        if (!image) {
          // Text drawn as vector outlines, or an empty page: OCR would need a renderer (unpdf's
          // renderPageAsImage wants @napi-rs/canvas, which warren does not ship).
          return { page, ...size, method: 'none', note: 'no text layer and no embedded scan; OCR of vector-only pages needs a renderer', lines: [], words: [] };
        }
        const ocr = await ocrEngine(ctx.log);
        const dpi = width && height ? (Math.max(image.width, image.height) / Math.max(width, height)) * 72 : undefined;
        const result = await ocr.recognize(await prepareRawImage(image, dpi), page, onProgress);
        return { ...result, note: 'no text layer: OCR of the embedded scan; width, height and boxes are in its pixels' };
      });
    }
    return { run, pageCount: reader.pages };
  } finally {
    await reader.close();
  }
}

function maxPagesOf(value: unknown): number {
  if (value === undefined || value === null || value === '') return DOCUMENT_DEFAULT_PAGES;
  const pages = typeof value === 'string' ? Number(value) : value;
  if (typeof pages !== 'number' || !Number.isInteger(pages) || pages < 1 || pages > DOCUMENT_MAX_PAGES) {
    throw new PermanentError(`pages must be an integer from 1 to ${DOCUMENT_MAX_PAGES}`, { code: 'invalid_fields' });
  }
  return pages;
}

/** Set before setup(): how many tesseract threads this worker process runs. */
export function configureDocument(options: { ocrThreads?: number | undefined }): void {
  ocrThreads = options.ocrThreads;
}

export const document: Processor = {
  ...documentDescriptor,
  concurrency: DECODER_CONCURRENCY,

  async setup(log) {
    await ocrEngine(log);
  },

  async teardown() {
    const starting = engine;
    engine = undefined;
    await (await starting?.catch(() => undefined))?.terminate();
  },

  async run(input, ctx): Promise<DocumentResult> {
    const began = performance.now();
    ctx.signal.throwIfAborted();
    const [file, ...rest] = input.files;
    if (!file || rest.length > 0) {
      throw new PermanentError(`document takes exactly one file, got ${input.files.length}`, { code: 'invalid_files' });
    }
    const maxPages = maxPagesOf(input.fields.pages);
    const type = file.content_type.split(';')[0]?.trim().toLowerCase() ?? '';
    ctx.progress(0, `reading ${type}`);

    let outcome: { run: PageRun; pageCount: number };
    if (IMAGE_TYPES.has(type)) {
      outcome = await readImage({ ...file, content_type: type }, ctx, maxPages);
    } else if (type === 'application/pdf') {
      outcome = await readPdf(file, ctx, maxPages);
    } else if (type === 'text/plain') {
      const run = new PageRun(ctx, 1);
      const bytes = await readFile(ctx.filePath(file));
      await run.add(0, () => Promise.resolve(plainTextPage(bytes, ctx.maxResultBytes)));
      outcome = { run, pageCount: 1 };
    } else {
      throw new PermanentError(`document does not read ${type || 'files without a content type'}`, { code: 'unsupported_file' });
    }

    const { run, pageCount } = outcome;
    return {
      text: run.pages.map((page) => page.lines.map((line) => line.text).join('\n')).join('\n\n'),
      pages: run.pages,
      page_count: pageCount,
      timings: { total_ms: Math.round(performance.now() - began), per_page_ms: run.perPageMs },
      engine: { ocr: OCR_ENGINE, language: OCR_LANGUAGE },
    };
  },
};

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PermanentError } from '../../../shared/index.js';
import { imageTooLarge, megapixels, type DecoderLimits } from '../decoder-limits.js';
import type { RawImage } from './images.js';
import { watchedDecode, type MemoryExceeded } from './memory-watch.js';
import type { PdfPage, PdfReply, PdfRequest, PdfThreadData } from './pdf-protocol.js';

/** pdf.js's names for files it cannot read at all: bad input, so retrying is pointless. */
const UNREADABLE = new Set(['InvalidPDFException', 'FormatError', 'MissingPDFException']);

/**
 * A PDF opened in its own worker_thread, read one page per request so that a document of scans
 * never piles decoded images up in memory faster than OCR consumes them. One thread per document:
 * it starts in ~100 ms, pdf.js's caches die with it, and abort is a terminate().
 */
export class PdfReader {
  /** Pages in the document. */
  pages = 0;
  private pending: { resolve: (reply: PdfReply) => void; reject: (error: unknown) => void } | undefined;
  private failure: unknown;
  private readonly onAbort: () => void;

  private constructor(
    private readonly thread: Worker,
    private readonly signal: AbortSignal,
    private readonly limits: DecoderLimits,
  ) {
    const fail = (error: unknown): void => this.fail(error);
    thread.on('message', (reply: PdfReply) => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.resolve(reply);
    });
    thread.on('error', (error: Error & { code?: string }) => {
      fail(
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new PermanentError('the PDF needs more memory than a document may use', { code: 'document_too_complex', cause: error })
          : error,
      );
    });
    thread.on('exit', (code) => fail(new Error(`PDF thread exited (code ${code})`)));
    this.onAbort = () => {
      fail(signal.reason);
      void thread.terminate();
    };
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  static async open(path: string, signal: AbortSignal, limits: DecoderLimits): Promise<PdfReader> {
    signal.throwIfAborted();
    const { entry, eval: isCode } = threadEntry();
    const thread = new Worker(entry, {
      eval: isCode,
      workerData: { path, maxImagePixels: limits.maxImagePixels } satisfies PdfThreadData,
      // A hostile PDF should kill its thread, not the worker process. This bounds pdf.js's objects
      // only: decoded images are ArrayBuffers outside the heap, bounded by maxImagePixels and the
      // memory watch around image().
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
    });
    const reader = new PdfReader(thread, signal, limits);
    try {
      const reply = await reader.next();
      if (reply.type === 'error') throw openError(reply);
      if (reply.type !== 'opened') throw new Error(`unexpected reply from the PDF thread: ${reply.type}`);
      reader.pages = reply.pages;
      return reader;
    } catch (error) {
      await reader.close();
      throw error;
    }
  }

  /** Text layer of one page, 1-based; a damaged page comes back with `error`. */
  async page(page: number): Promise<PdfPage> {
    this.thread.postMessage({ op: 'page', page } satisfies PdfRequest);
    const reply = await this.next();
    if (reply.type !== 'page') throw new Error(`unexpected reply from the PDF thread: ${reply.type}`);
    return reply.result;
  }

  /**
   * The largest embedded image of one page (its scan), decoded inside the memory watch. Fails the
   * task with image_too_large when the page draws an image over MAX_IMAGE_PIXELS, and with
   * memory_budget_exceeded when decoding its images takes the worker past its budget; a page whose
   * images are damaged comes back with `error`.
   */
  async image(page: number): Promise<{ image?: RawImage; error?: string }> {
    const stop = async ({ rssBytes, budgetBytes }: MemoryExceeded): Promise<void> => {
      const mb = (bytes: number): number => Math.round(bytes / 2 ** 20);
      this.fail(
        new PermanentError(
          `memory budget exceeded: decoding the images of page ${page} took the worker to ${mb(rssBytes)} MB, over its budget of ${mb(budgetBytes)} MB (WORKER_MEMORY_BUDGET_MB)`,
          { code: 'memory_budget_exceeded' },
        ),
      );
      await this.thread.terminate();
    };
    const reply = await watchedDecode(
      { budgetBytes: this.limits.memoryBudgetBytes, signal: this.signal },
      () => {
        this.thread.postMessage({ op: 'image', page } satisfies PdfRequest);
        return this.next();
      },
      stop,
    );
    if (reply.type !== 'image') throw new Error(`unexpected reply from the PDF thread: ${reply.type}`);
    const { image, refused, error } = reply.result;
    if (refused) {
      const where = `on page ${page}`;
      if (refused.width !== undefined && refused.height !== undefined) throw imageTooLarge(refused.width, refused.height, this.limits.maxImagePixels, where);
      throw new PermanentError(
        `image too large: page ${page} draws an image of more than the ${megapixels(this.limits.maxImagePixels)}-megapixel limit (MAX_IMAGE_PIXELS)`,
        {
          code: 'image_too_large',
        },
      );
    }
    return error === undefined ? (image ? { image } : {}) : { error };
  }

  async close(): Promise<void> {
    this.signal.removeEventListener('abort', this.onAbort);
    this.failure ??= new Error('PDF reader closed');
    await this.thread.terminate();
  }

  /** The first failure is the reader's for good: the request in flight and every later one get it. */
  private fail(error: unknown): void {
    this.failure ??= error;
    this.pending?.reject(this.failure);
    this.pending = undefined;
  }

  private next(): Promise<PdfReply> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
    });
  }
}

function openError(reply: Extract<PdfReply, { type: 'error' }>): Error {
  if (reply.name === 'PasswordException') {
    return new PermanentError('the PDF is encrypted with a password', { code: 'unsupported_file' });
  }
  if (UNREADABLE.has(reply.name)) {
    return new PermanentError(`the file is not a readable PDF (${reply.message})`, { code: 'unsupported_file' });
  }
  // Anything else (the volume, say) is not the file's fault and may pass on a retry.
  const error = new Error(`opening the PDF failed: ${reply.message}`);
  error.name = reply.name;
  return error;
}

/**
 * After `tsc` the thread is the .js beside this file. From source (tsx, vitest) it is a .ts file
 * that a thread cannot be started on directly: tsx's hooks do not reach a worker's entry point on
 * Node 20 (privatenumber/tsx#354), even under `node --import tsx`. So a small JS entry registers
 * tsx inside the thread first, then imports the .ts file.
 */
function threadEntry(): { entry: URL | string; eval: boolean } {
  const compiled = new URL('./pdf-thread.js', import.meta.url);
  if (fs.existsSync(fileURLToPath(compiled))) return { entry: compiled, eval: false };
  const tsx = import.meta.resolve('tsx/esm/api');
  const source = new URL('./pdf-thread.ts', import.meta.url).href;
  return {
    entry: `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(source)}); });`,
    eval: true,
  };
}

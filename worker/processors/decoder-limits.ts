import os from 'node:os';
import { PermanentError } from '../../shared/index.js';

/**
 * What the image decoders of one worker process may spend. Decoded pixels live outside V8's heap
 * (typed arrays, libvips, tesseract's wasm memory), so no heap limit covers them: an image's size
 * is checked from its header before it is decoded, and the one decode whose size no header tells
 * (a PDF page's images) is watched against an RSS budget (document/memory-watch.ts).
 */
export interface DecoderLimits {
  /** MAX_IMAGE_PIXELS: largest image (width × height) a decoder accepts. */
  maxImagePixels: number;
  /** WORKER_MEMORY_BUDGET_MB in bytes: RSS above which a watched decode is stopped. */
  memoryBudgetBytes: number;
}

/**
 * Covers camera photos (the largest sensors give ~61 MP) and an A3 page scanned at 600 dpi (~70 MP);
 * the thumbnail processor's limit before it was configurable. A 12000 × 12000 bomb (144 MP) is refused.
 */
export const DEFAULT_MAX_IMAGE_PIXELS = 100_000_000;

/**
 * Tasks of a decoding processor (document, thumbnail) one worker runs at once, unless
 * PROCESSOR_CONCURRENCY says otherwise: each keeps about a core busy (pdf.js in its thread, sharp,
 * an OCR thread) and holds at most one decoded image, so more would only queue inside the worker
 * holding memory, where other workers cannot take them.
 */
export const DECODER_CONCURRENCY = os.availableParallelism();

/**
 * Three quarters of what the process may use — its cgroup limit in a container, else the machine's
 * RAM — so a runaway decode is stopped before the kernel's OOM killer takes the whole worker.
 * process.constrainedMemory() answers 2^64 (or 0 / undefined) where there is no limit.
 */
export function defaultMemoryBudgetBytes(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  const available = constrained > 0 ? Math.min(constrained, os.totalmem()) : os.totalmem();
  return Math.floor(available * 0.75);
}

let limits: DecoderLimits = { maxImagePixels: DEFAULT_MAX_IMAGE_PIXELS, memoryBudgetBytes: defaultMemoryBudgetBytes() };

/** Set once at start, before any task runs (selectProcessors); undefined keeps the default. */
export function configureDecoderLimits(options: { maxImagePixels?: number | undefined; memoryBudgetMb?: number | undefined }): void {
  limits = {
    maxImagePixels: options.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS,
    memoryBudgetBytes: options.memoryBudgetMb === undefined ? defaultMemoryBudgetBytes() : options.memoryBudgetMb * 2 ** 20,
  };
}

export function decoderLimits(): DecoderLimits {
  return limits;
}

/** 144000000 → "144", 1500000 → "1.5". */
export function megapixels(pixels: number): string {
  return String(Number((pixels / 1_000_000).toPrecision(3)));
}

/** A permanent failure: the same image is as large on every attempt. `where` says which image, e.g. "on page 2". */
export function imageTooLarge(width: number, height: number, limit: number, where = ''): PermanentError {
  return new PermanentError(
    `image too large: ${width} × ${height} pixels (${megapixels(width * height)} MP)${where ? ` ${where}` : ''} is more than the ${megapixels(limit)}-megapixel limit (MAX_IMAGE_PIXELS)`,
    { code: 'image_too_large' },
  );
}

/** Throws image_too_large for an image over MAX_IMAGE_PIXELS; call it with the header's size, before decoding. */
export function checkImagePixels(width: number, height: number, where?: string): void {
  if (width * height > limits.maxImagePixels) throw imageTooLarge(width, height, limits.maxImagePixels, where);
}

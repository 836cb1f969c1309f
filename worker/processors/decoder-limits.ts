import os from 'node:os';

/**
 * What the image decoders of one worker process may spend. Decoded pixels live outside V8's heap
 * (typed arrays, libvips, tesseract's wasm memory), so the number of decodes at once is one of the
 * few things that bounds a worker's memory.
 */

/**
 * Tasks of a decoding processor (document, thumbnail) one worker runs at once, unless
 * PROCESSOR_CONCURRENCY says otherwise: each keeps about a core busy (pdf.js in its thread, sharp,
 * an OCR thread) and holds at most one decoded image, so more would only queue inside the worker
 * holding memory, where other workers cannot take them.
 */
export const DECODER_CONCURRENCY = os.availableParallelism();

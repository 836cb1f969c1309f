/**
 * Runs in a worker_thread started by pdf.ts: pdf.js (through unpdf) parses on whichever thread
 * calls it (its Node build has no worker of its own), and a large PDF can take seconds of CPU.
 */
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { extractImages, getDocumentProxy } from 'unpdf';
import type { BBox, Line } from './types.js';
import { largestDeclaredImage } from './pdf-image-sizes.js';
import type { PdfPage, PdfPageImage, PdfReply, PdfRequest, PdfThreadData } from './pdf-protocol.js';

type Document = Awaited<ReturnType<typeof getDocumentProxy>>;
type PageProxy = Awaited<ReturnType<Document['getPage']>>;
type Viewport = ReturnType<PageProxy['getViewport']>;

interface TextPiece {
  str: string;
  transform: number[];
  width: number;
  height: number;
  hasEOL: boolean;
}

/** Embedded images smaller than this are logos or rules, not a scanned page. */
const MIN_SCAN_SIDE = 64;

const port = parentPort;
if (!port) throw new Error('pdf-thread.ts must run in a worker_thread');

const send = (reply: PdfReply, transfer: ArrayBuffer[] = []): void => port.postMessage(reply, transfer);
const describe = (error: unknown): { name: string; message: string } =>
  error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
const { path, maxImagePixels } = workerData as PdfThreadData;

/**
 * pdf.js says that maxImageSize kept an image out only as a warning (stopAtErrors would make it
 * throw, but would also fail every page with a flaw pdf.js otherwise reads past). Its warnings go
 * to console.warn at verbosity 1, and this thread's console is its own: they are counted here and
 * dropped, as verbosity 0 dropped them before (they would only fill the worker's logs).
 */
const REFUSED_IMAGE = 'Image exceeded maximum allowed size';
let refusedImages = 0;
console.warn = (...args: unknown[]): void => {
  if (args.some((arg) => String(arg).includes(REFUSED_IMAGE))) refusedImages++;
};

async function open(): Promise<Document | undefined> {
  try {
    const pdf = await getDocumentProxy(new Uint8Array(await readFile(path)), {
      verbosity: 1,
      isEvalSupported: false,
      // Checked from each image's dictionary before pdf.js decodes it.
      maxImageSize: maxImagePixels,
    });
    send({ type: 'opened', pages: pdf.numPages });
    return pdf;
  } catch (error) {
    // The parent terminates this thread when it hears of a fatal error.
    send({ type: 'error', ...describe(error) });
    return undefined;
  }
}

const pdf = await open();
if (pdf) {
  port.on('message', (request: PdfRequest) => {
    if (request.op === 'page') {
      readPage(pdf, request.page).then(
        (result) => send({ type: 'page', result }),
        (error: unknown) => send({ type: 'page', result: { page: request.page, lines: [], error: describe(error).message } }),
      );
    } else {
      readImage(pdf, request.page).then(
        (result) => send({ type: 'image', result }, result.image ? [result.image.data.buffer as ArrayBuffer] : []),
        (error: unknown) => send({ type: 'image', result: { page: request.page, error: describe(error).message } }),
      );
    }
  });
}

async function readPage(pdf: Document, number: number): Promise<PdfPage> {
  const page = await pdf.getPage(number);
  try {
    const viewport = page.getViewport({ scale: 1 });
    const content = await page.getTextContent();
    const pieces = content.items.filter((item): item is typeof item & TextPiece => 'str' in item);
    return { page: number, width: round(viewport.width), height: round(viewport.height), lines: toLines(pieces, viewport) };
  } finally {
    page.cleanup();
  }
}

async function readImage(pdf: Document, number: number): Promise<PdfPageImage> {
  refusedImages = 0;
  const page = await pdf.getPage(number);
  try {
    const image = await largestImage(pdf, number);
    if (refusedImages > 0) {
      // Only on this path is the file read again: the bytes pdf.js was given are its own now.
      const declared = largestDeclaredImage(await readFile(path));
      return { page: number, refused: declared && declared.width * declared.height > maxImagePixels ? declared : {} };
    }
    return image ? { page: number, image } : { page: number };
  } finally {
    // The decoded images stay in the page's object cache until this.
    page.cleanup();
  }
}

async function largestImage(pdf: Document, number: number): Promise<PdfPageImage['image']> {
  const images = await extractImages(pdf, number);
  let best: (typeof images)[number] | undefined;
  for (const image of images) {
    if (image.width < MIN_SCAN_SIDE || image.height < MIN_SCAN_SIDE) continue;
    if (!best || image.width * image.height > best.width * best.height) best = image;
  }
  if (!best) return undefined;
  const data = new Uint8Array(best.data.buffer, best.data.byteOffset, best.data.byteLength);
  return { data, width: best.width, height: best.height, channels: best.channels };
}

/**
 * pdf.js gives text runs, not lines: a run ends a line when it says so (hasEOL) or when the next
 * run sits on another baseline.
 */
function toLines(pieces: TextPiece[], viewport: Viewport): Line[] {
  const lines: Line[] = [];
  let text = '';
  let box: BBox | undefined;
  let baseline: number | undefined;
  const flush = (): void => {
    const trimmed = text.trim();
    if (trimmed !== '') lines.push(box ? { text: trimmed, bbox: box } : { text: trimmed });
    text = '';
    box = undefined;
    baseline = undefined;
  };
  for (const piece of pieces) {
    const [, , , , x = 0, y = 0] = piece.transform;
    const size = Math.max(piece.height, 1);
    if (baseline !== undefined && Math.abs(y - baseline) > size / 2) flush();
    if (piece.str !== '') {
      text += piece.str;
      baseline ??= y;
      box = union(box, pieceBox(x, y, piece.width, piece.height, viewport));
    }
    if (piece.hasEOL) flush();
  }
  flush();
  return lines;
}

/** The run's box in viewport space (top-left origin, page rotation applied). */
function pieceBox(x: number, y: number, width: number, height: number, viewport: Viewport): BBox {
  const [ax, ay] = viewport.convertToViewportPoint(x, y) as [number, number];
  const [bx, by] = viewport.convertToViewportPoint(x + width, y + height) as [number, number];
  return { x0: round(Math.min(ax, bx)), y0: round(Math.min(ay, by)), x1: round(Math.max(ax, bx)), y1: round(Math.max(ay, by)) };
}

function union(a: BBox | undefined, b: BBox): BBox {
  if (!a) return b;
  return { x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

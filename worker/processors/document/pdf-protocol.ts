import type { Line } from './types.js';
import type { RawImage } from './images.js';

/** Messages between pdf.ts and pdf-thread.ts. One request is in flight at a time. */
export interface PdfThreadData {
  path: string;
  /** MAX_IMAGE_PIXELS: pdf.js's maxImageSize, so it never decodes a larger image. */
  maxImagePixels: number;
}

/**
 * `page` reads the text layer only; `image` decodes the page's images, which the parent asks for
 * only for a page without text, inside its memory watch.
 */
export type PdfRequest = { op: 'page'; page: number } | { op: 'image'; page: number };

export interface PdfPage {
  page: number;
  /** Points (1/72 in), after the page's own rotation; absent when the page could not be read. */
  width?: number;
  height?: number;
  /** The text layer as lines, boxes in points from the top-left; empty when there is none. */
  lines: Line[];
  /** Why the page could not be read (a damaged page does not fail the document). */
  error?: string;
}

export interface PdfPageImage {
  page: number;
  /** The page's largest embedded image (a scan), to OCR; absent when it has none. */
  image?: RawImage;
  /**
   * The page draws an image over maxImagePixels, which pdf.js refused to decode. Its size, when the
   * file declares it plainly (a stream dictionary with numeric /Width and /Height); else empty.
   */
  refused?: { width?: number; height?: number };
  /** Why the page's images could not be read. */
  error?: string;
}

export type PdfReply =
  | { type: 'opened'; pages: number }
  | { type: 'page'; result: PdfPage }
  | { type: 'image'; result: PdfPageImage }
  /** The document could not be opened; the thread does nothing more. */
  | { type: 'error'; name: string; message: string };

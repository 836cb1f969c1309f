import type { Line } from './types.js';
import type { RawImage } from './images.js';

/** Messages between pdf.ts and pdf-thread.ts. One request is in flight at a time. */
export interface PdfThreadData {
  path: string;
}

export type PdfRequest = { op: 'page'; page: number };

export interface PdfPage {
  page: number;
  /** Points (1/72 in), after the page's own rotation; absent when the page could not be read. */
  width?: number;
  height?: number;
  /** The text layer as lines, boxes in points from the top-left; empty when there is none. */
  lines: Line[];
  /** Only for a page without text: its largest embedded image (a scan), to OCR. */
  image?: RawImage;
  /** Why the page could not be read (a damaged page does not fail the document). */
  error?: string;
}

export type PdfReply =
  | { type: 'opened'; pages: number }
  | { type: 'page'; result: PdfPage }
  /** The document could not be opened; the thread does nothing more. */
  | { type: 'error'; name: string; message: string };

/** The shape of the document processor's result (see shared/processors/document.ts). */
export interface BBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface Line {
  text: string;
  confidence?: number;
  bbox?: BBox;
}

export interface Word {
  text: string;
  confidence: number;
  bbox: BBox;
}

export type PageMethod = 'ocr' | 'pdf-text' | 'plain' | 'none';

export interface PageResult {
  page: number;
  /** Image pixels for OCR, PDF points for pdf-text; boxes use the same units, origin top-left. */
  width?: number;
  height?: number;
  method: PageMethod;
  /** Mean word confidence 0..100 (OCR only). */
  confidence?: number;
  /** Why a page has no text or was read another way. */
  note?: string;
  lines: Line[];
  words: Word[];
}

export interface DocumentResult {
  text: string;
  pages: PageResult[];
  /** Pages in the source; more than pages.length when the `pages` limit cut it short. */
  page_count: number;
  timings: { total_ms: number; per_page_ms: number[] };
  engine: { ocr: string; language: string };
}

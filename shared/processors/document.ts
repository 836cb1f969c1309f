import { Type } from '@sinclair/typebox';
import { FieldValue } from '../contracts.js';
import type { ProcessorDescriptor } from '../processor.js';

export const DOCUMENT_DEFAULT_PAGES = 50;
export const DOCUMENT_MAX_PAGES = 200;

/**
 * Text out of a document: OCR (tesseract.js, English) for images, the text layer for PDFs, and
 * plain text passed through. The result has the full text plus per-page lines and word boxes.
 */
export const documentDescriptor: ProcessorDescriptor = {
  name: 'document',
  version: '1.0.0',
  description:
    'Extracts text from one document: OCR (English) of a PNG, JPEG, TIFF or WebP image with word boxes and confidences; ' +
    'the text layer of a PDF, page by page (image-only pages are OCRed from their embedded scan); plain text passes through.',
  fields: Type.Object(
    {
      pages: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: DOCUMENT_MAX_PAGES,
          default: DOCUMENT_DEFAULT_PAGES,
          description: 'Read at most this many pages of a PDF or multi-page TIFF',
        }),
      ),
    },
    // Extra fields are tolerated as they are for echo: the gateway may pass steering fields through.
    { additionalProperties: FieldValue },
  ),
  files: {
    accept: ['image/png', 'image/jpeg', 'image/tiff', 'image/webp', 'application/pdf', 'text/plain'],
    minCount: 1,
    maxCount: 1,
    maxBytes: 50 * 1024 * 1024,
  },
};

import { Type } from '@sinclair/typebox';
import type { ProcessorDescriptor } from '../processor.js';

export const THUMBNAIL_MAX_SIDE = 4096;
export const THUMBNAIL_FITS = ['cover', 'contain', 'inside'] as const;
export const THUMBNAIL_FORMATS = ['webp', 'png'] as const;
export type ThumbnailFit = (typeof THUMBNAIL_FITS)[number];
export type ThumbnailFormat = (typeof THUMBNAIL_FORMATS)[number];

const side = (which: string) =>
  Type.Optional(Type.Integer({ minimum: 1, maximum: THUMBNAIL_MAX_SIDE, description: `Largest ${which} of the thumbnail in pixels` }));

/** An image in, a resized WebP or PNG out. */
export const thumbnailDescriptor: ProcessorDescriptor = {
  name: 'thumbnail',
  version: '1.0.0',
  description:
    'Resizes one image (PNG, JPEG, WebP, TIFF or GIF) to a WebP or PNG thumbnail, upright per its EXIF orientation and never enlarged. ' +
    'Without width and height the thumbnail is 256 pixels wide.',
  fields: Type.Object({
    width: side('width'),
    height: side('height'),
    fit: Type.Optional(
      Type.Union(
        THUMBNAIL_FITS.map((fit) => Type.Literal(fit)),
        { description: 'inside (default): fit within the box; contain: pad to the box; cover: fill the box, cropping' },
      ),
    ),
    format: Type.Optional(
      Type.Union(
        THUMBNAIL_FORMATS.map((format) => Type.Literal(format)),
        { description: 'Output format; default webp' },
      ),
    ),
  }),
  files: {
    accept: ['image/png', 'image/jpeg', 'image/webp', 'image/tiff', 'image/gif'],
    minCount: 1,
    maxCount: 1,
    maxBytes: 50 * 1024 * 1024,
  },
};

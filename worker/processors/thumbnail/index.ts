import fs from 'node:fs/promises';
import sharp, { type OutputInfo } from 'sharp';
import {
  PermanentError,
  THUMBNAIL_FITS,
  THUMBNAIL_FORMATS,
  THUMBNAIL_MAX_SIDE,
  thumbnailDescriptor,
  type Processor,
  type ThumbnailFit,
  type ThumbnailFormat,
} from '../../../shared/index.js';
import { DECODER_CONCURRENCY, checkImagePixels, decoderLimits, imageTooLarge } from '../decoder-limits.js';

export const DEFAULT_WIDTH = 256;
/** What sharp calls the formats the descriptor accepts; sharp reads more (SVG, HEIF...) that we do not take. */
const ACCEPTED_FORMATS: ReadonlySet<string> = new Set(['png', 'jpeg', 'webp', 'tiff', 'gif']);
const OUTPUTS: Record<ThumbnailFormat, { file: string; contentType: string }> = {
  webp: { file: 'thumbnail.webp', contentType: 'image/webp' },
  png: { file: 'thumbnail.png', contentType: 'image/png' },
};

interface ThumbnailOptions {
  width: number | undefined;
  height: number | undefined;
  fit: ThumbnailFit;
  format: ThumbnailFormat;
}

/**
 * An image → a WebP or PNG thumbnail. sharp decodes and resizes on libuv's thread pool, so the
 * event loop stays free for heartbeats and cancels while libvips works; libvips cannot be
 * interrupted mid-image, so an abort takes effect when the image is done (well under a second
 * for anything within the pixel limit).
 */
export const thumbnail: Processor = {
  ...thumbnailDescriptor,
  concurrency: DECODER_CONCURRENCY,
  async run(input, ctx) {
    const options = readOptions(input.fields);
    if (input.files.length !== 1) throw invalidInput(`upload exactly one image (got ${input.files.length})`);
    const file = input.files[0]!;
    const imagePath = ctx.filePath(file);
    // A missing file is the volume's problem, not a bad image: let it fail the run as itself.
    await fs.access(imagePath);

    // Decompression-bomb guard: a few kilobytes of PNG can claim 50,000 × 50,000 pixels (gigabytes
    // once decoded). The header alone says what the image is and how big it claims to be, before
    // any decoding; reading it is safe at any size, so MAX_IMAGE_PIXELS is applied below with a
    // clear message. Within it sharp streams the image (JPEGs shrink on load): measured at 100 MP,
    // 0.3-0.4 bytes of memory per pixel.
    const source = await sharp(imagePath, { limitInputPixels: false })
      .metadata()
      .catch((error: unknown) => {
        throw unsupported(`"${file.name}" is not a readable image`, error);
      });
    if (!ACCEPTED_FORMATS.has(source.format)) {
      throw unsupported(`"${file.name}" is ${source.format.toUpperCase()}; accepted: PNG, JPEG, WebP, TIFF, GIF`);
    }
    // Only the first page (frame) is decoded.
    checkImagePixels(source.width, source.pageHeight ?? source.height);
    const { maxImagePixels } = decoderLimits();
    ctx.signal.throwIfAborted();
    ctx.progress(0.1, 'resizing');

    let output: { data: Buffer; info: OutputInfo };
    try {
      const pipeline = sharp(imagePath, { limitInputPixels: maxImagePixels })
        // No angle: follow the EXIF orientation, so phone photos come out upright (the tag is dropped).
        .rotate()
        .resize({
          width: options.width,
          height: options.height,
          fit: options.fit,
          withoutEnlargement: true,
          // contain pads to the box; transparent padding suits both output formats.
          background: { r: 0, g: 0, b: 0, alpha: 0 },
        });
      output = await (options.format === 'webp' ? pipeline.webp() : pipeline.png()).toBuffer({ resolveWithObject: true });
    } catch (error) {
      if (error instanceof Error && /pixel limit/i.test(error.message)) throw imageTooLarge(source.width, source.height, maxImagePixels);
      // The header was fine, so a failure here is bad image data (truncated, corrupt), not our fault.
      throw unsupported(`"${file.name}" could not be decoded`, error);
    }
    ctx.signal.throwIfAborted();

    const { file: artifactName, contentType } = OUTPUTS[options.format];
    const artifact = await ctx.artifacts.write(artifactName, output.data, contentType);
    return {
      width: output.info.width,
      height: output.info.height,
      format: options.format,
      bytes: artifact.size,
      // As displayed, i.e. after the EXIF orientation, like the thumbnail.
      source: { width: source.autoOrient.width, height: source.autoOrient.height, format: source.format },
    };
  },
};

/** The gateway validates fields against the descriptor, but a task may come from any producer. */
function readOptions(fields: Record<string, unknown>): ThumbnailOptions {
  const width = readSide(fields.width, 'width');
  const height = readSide(fields.height, 'height');
  return {
    width: width === undefined && height === undefined ? DEFAULT_WIDTH : width,
    height,
    fit: readChoice(fields.fit, 'fit', THUMBNAIL_FITS, 'inside'),
    format: readChoice(fields.format, 'format', THUMBNAIL_FORMATS, 'webp'),
  };
}

function readSide(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const side = typeof value === 'string' ? Number(value) : value;
  if (typeof side !== 'number' || !Number.isInteger(side) || side < 1 || side > THUMBNAIL_MAX_SIDE) {
    throw invalidInput(`${name} must be a whole number of pixels from 1 to ${THUMBNAIL_MAX_SIDE}`);
  }
  return side;
}

function readChoice<T extends string>(value: unknown, name: string, choices: readonly T[], fallback: T): T {
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  throw invalidInput(`${name} must be one of ${choices.join(', ')}`);
}

function invalidInput(message: string): PermanentError {
  return new PermanentError(message, { code: 'invalid_input' });
}

function unsupported(message: string, cause?: unknown): PermanentError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new PermanentError(`${message}${detail}`, { code: 'unsupported_file', cause });
}

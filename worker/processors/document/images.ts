import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import { PermanentError } from '../../../shared/index.js';
import { checkImagePixels, decoderLimits } from '../decoder-limits.js';

/** An image ready for tesseract, and how it relates to the source image. */
export interface PreparedImage {
  png: Buffer;
  /** The source image's size after EXIF orientation: the space boxes are reported in. */
  width: number;
  height: number;
  /** prepared pixels / source pixels (< 1 when downscaled). */
  scale: number;
  /** Resolution of the prepared pixels, for tesseract, which sizes its noise filters by it. */
  dpi: number;
}

/** Raw pixels, as unpdf extracts an embedded image from a PDF page. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/**
 * tesseract's wasm heap is capped at 4 GB and its time grows with pixels; a 40 MP page is an A4
 * scan at 600 dpi, so only larger images are scaled down. This is what bounds tesseract's memory:
 * ~470 MB per OCR thread for a dense 40 MP page, kept by the thread (wasm memory never shrinks).
 */
const MAX_OCR_PIXELS = 40_000_000;

/** What tesseract assumes when an image states no credible resolution (WebP states none at all). */
const FALLBACK_DPI = 70;

/**
 * 'error' tolerates the warnings many scanners' JPEGs raise but refuses corrupt data. sharp's own
 * pixel limit (268 MP by default) is set to ours as well: the header check below names the size
 * in its error, sharp's stops any decode that check did not see.
 */
const decode = (): SharpOptions => ({ failOn: 'error', limitInputPixels: decoderLimits().maxImagePixels });

function unreadable(contentType: string, cause: unknown): PermanentError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new PermanentError(`the file is not a readable ${contentType} image (${reason})`, { code: 'unsupported_file', cause });
}

/**
 * One page's header, read without decoding: where undecodable bytes are caught, and where an image
 * larger than MAX_IMAGE_PIXELS is refused, naming its size, before any pixel is decoded.
 */
async function readHeader(bytes: Buffer, contentType: string, page: number): Promise<Metadata> {
  let meta: Metadata;
  try {
    // metadata() applies the pixel limit too, with an error that names no size: ours does below.
    meta = await sharp(bytes, { ...decode(), limitInputPixels: false, page }).metadata();
    if (!meta.width || !meta.height) throw new Error('no image dimensions');
  } catch (error) {
    throw unreadable(contentType, error);
  }
  // Only one page (or animation frame) is decoded at a time.
  checkImagePixels(meta.width, meta.pageHeight ?? meta.height, page > 0 ? `on page ${page + 1}` : undefined);
  return meta;
}

/** How many pages (frames) an image file has, once its first page's header passed the checks. */
export async function imagePageCount(bytes: Buffer, contentType: string): Promise<number> {
  return (await readHeader(bytes, contentType, 0)).pages ?? 1;
}

/** One page of an image file, normalised for OCR. */
export async function prepareImageFile(bytes: Buffer, contentType: string, page = 0): Promise<PreparedImage> {
  // The pages of a TIFF may differ in size: each is checked before it is decoded.
  await readHeader(bytes, contentType, page);
  try {
    return await normalise(sharp(bytes, { ...decode(), page }));
  } catch (error) {
    throw unreadable(contentType, error);
  }
}

/** `dpi`: the scan's real resolution (its pixels over the page's size), as raw pixels carry none. */
export function prepareRawImage(image: RawImage, dpi?: number): Promise<PreparedImage> {
  const { data, width, height, channels } = image;
  return normalise(sharp(data, { raw: { width, height, channels } }), dpi);
}

/**
 * Every input becomes an 8-bit greyscale PNG, upright and without alpha: Leptonica inside
 * tesseract reads neither WebP nor every TIFF/CMYK variant, ignores EXIF rotation, and turns
 * transparent backgrounds black. sharp does this in libuv's pool, off the event loop.
 */
async function normalise(image: Sharp, knownDpi?: number): Promise<PreparedImage> {
  const upright = image.rotate();
  const { width, height, density } = await probeOriented(image);
  const scale = Math.min(1, Math.sqrt(MAX_OCR_PIXELS / (width * height)));
  let pipeline = upright.flatten({ background: '#ffffff' }).greyscale();
  if (scale < 1) {
    pipeline = pipeline.resize({ width: Math.max(1, Math.floor(width * scale)), height: Math.max(1, Math.floor(height * scale)), fit: 'fill' });
  }
  // Low compression: the PNG only crosses to a tesseract thread, where size barely matters.
  const png = await pipeline.png({ compressionLevel: 1, adaptiveFiltering: false }).toBuffer();
  const dpi = knownDpi ?? density;
  return { png, width, height, scale, dpi: dpi && dpi >= FALLBACK_DPI && dpi <= 2400 ? Math.round(dpi * scale) : FALLBACK_DPI };
}

/** The input's size as the pipeline will see it (metadata() describes the input, not the output). */
async function probeOriented(image: Sharp): Promise<{ width: number; height: number; density: number | undefined }> {
  const meta = await image.metadata();
  if (!meta.width || !meta.height) throw new Error('no image dimensions');
  // Orientations 5..8 swap the axes.
  const swap = (meta.orientation ?? 1) >= 5;
  // Only one page is decoded, so an animation's frame height is what counts.
  const height = meta.pageHeight ?? meta.height;
  const { density } = meta;
  return swap ? { width: height, height: meta.width, density } : { width: meta.width, height, density };
}

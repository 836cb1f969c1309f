import zlib from 'node:zlib';
import { PDFDocument, PDFName, drawObject, popGraphicsState, pushGraphicsState, concatTransformationMatrix } from 'pdf-lib';

/**
 * Decompression bombs, made at test time: small files that claim (or hold) far more pixels than
 * they weigh. What the decoder guards of the document and thumbnail processors must refuse.
 */

/** `bytes` of one repeated byte, deflated without ever holding them all: a solid colour compresses ~1000:1. */
async function deflateSolid(bytes: number, value: number): Promise<Buffer> {
  const chunk = Buffer.alloc(1 << 20, value);
  const deflate = zlib.createDeflate({ level: 9, memLevel: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (part: Buffer) => parts.push(part));
  const ended = new Promise<void>((resolve, reject) => deflate.on('end', resolve).on('error', reject));
  for (let left = bytes; left > 0; left -= chunk.length) {
    if (!deflate.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await ended;
  return Buffer.concat(parts);
}

export interface PdfBombOptions {
  /** Image XObjects drawn on the page, each `width` × `height` (default 1). */
  images?: number;
  /** Text drawn on the page too, so it has a text layer (default none). */
  text?: string;
}

/**
 * A one-page PDF whose only content is a `width` × `height` 8-bit grey image, FlateDecode
 * compressed: 12000 × 12000 is 144 MP (432 MB once pdf.js has turned it into RGB) in ~140 KB of
 * file. The image XObject is written by hand because pdf-lib's embedders want the pixels in memory.
 */
export async function pdfBomb(width: number, height: number, options: PdfBombOptions = {}): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const page = pdf.addPage([612, 792]);
  const data = await deflateSolid(width * height, 0xf0);
  for (let index = 0; index < (options.images ?? 1); index++) {
    const image = pdf.context.stream(data, {
      Type: 'XObject',
      Subtype: 'Image',
      Width: width,
      Height: height,
      ColorSpace: 'DeviceGray',
      BitsPerComponent: 8,
      Filter: 'FlateDecode',
    });
    const name = `Im${index}`;
    page.node.setXObject(PDFName.of(name), pdf.context.register(image));
    page.pushOperators(pushGraphicsState(), concatTransformationMatrix(612, 0, 0, 792, 0, 0), drawObject(name), popGraphicsState());
  }
  if (options.text !== undefined) page.drawText(options.text, { x: 50, y: 700, size: 16 });
  pdf.setCreationDate(new Date('2026-01-01T00:00:00Z'));
  pdf.setModificationDate(new Date('2026-01-01T00:00:00Z'));
  return pdf.save();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid PNG whose header claims width × height: a decompression bomb's shape, in under 100 bytes. */
export function pngClaiming(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth; colour type 0 (grey), no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const oneRow = zlib.deflateSync(Buffer.alloc(width + 1));
  return Buffer.concat([signature, pngChunk('IHDR', header), pngChunk('IDAT', oneRow), pngChunk('IEND', Buffer.alloc(0))]);
}

/**
 * A little-endian baseline TIFF whose header claims width × height 8-bit grey pixels in one
 * Deflate strip that holds a single row: a few hundred bytes that would decode to width × height.
 */
export function tiffClaiming(width: number, height: number): Buffer {
  const strip = zlib.deflateSync(Buffer.alloc(width));
  // [tag, type (3 SHORT, 4 LONG), value]
  const entries: [number, number, number][] = [
    [256, 4, width], // ImageWidth
    [257, 4, height], // ImageLength
    [258, 3, 8], // BitsPerSample
    [259, 3, 8], // Compression: Deflate
    [262, 3, 1], // PhotometricInterpretation: BlackIsZero
    [273, 4, 0], // StripOffsets, filled in below
    [277, 3, 1], // SamplesPerPixel
    [278, 4, height], // RowsPerStrip: one strip
    [279, 4, strip.length], // StripByteCounts
  ];
  const ifdOffset = 8;
  const ifdSize = 2 + entries.length * 12 + 4;
  const stripOffset = ifdOffset + ifdSize;
  const file = Buffer.alloc(stripOffset + strip.length);
  file.write('II', 0, 'ascii');
  file.writeUInt16LE(42, 2);
  file.writeUInt32LE(ifdOffset, 4);
  file.writeUInt16LE(entries.length, ifdOffset);
  entries.forEach(([tag, type, value], index) => {
    const at = ifdOffset + 2 + index * 12;
    file.writeUInt16LE(tag, at);
    file.writeUInt16LE(type, at + 2);
    file.writeUInt32LE(1, at + 4);
    if (type === 3) file.writeUInt16LE(value, at + 8);
    else file.writeUInt32LE(tag === 273 ? stripOffset : value, at + 8);
  });
  file.writeUInt32LE(0, ifdOffset + 2 + entries.length * 12); // no next IFD
  strip.copy(file, stripOffset);
  return file;
}

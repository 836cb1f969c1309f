/**
 * The sizes of the image XObjects a PDF declares, read from the raw bytes without decoding
 * anything: only to name the size of an image pdf.js refused (its warning does not say). Stream
 * dictionaries are never compressed (a stream cannot live in an object stream) and their numbers
 * are never encrypted, so a plain `/Width 12000` is there to read. A size given by reference
 * (`/Width 7 0 R`) or an inline image is not found; the caller then reports the refusal without it.
 */
export interface DeclaredImage {
  width: number;
  height: number;
}

/** How far around `/Subtype /Image` its dictionary's other keys may be. */
const WINDOW = 4096;

export function largestDeclaredImage(bytes: Uint8Array): DeclaredImage | undefined {
  // latin1 maps each byte to one character, so binary stream data cannot break the scan.
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  let largest: DeclaredImage | undefined;
  for (const match of text.matchAll(/\/Subtype\s*\/Image\b/g)) {
    const at = match.index;
    // The dictionary ends where its stream's data begins; it starts after the previous `obj`.
    const start = Math.max(text.lastIndexOf(' obj', at), at - WINDOW, 0);
    const streamAt = text.indexOf('stream', at);
    const end = streamAt === -1 ? Math.min(text.length, at + WINDOW) : Math.min(streamAt, at + WINDOW);
    const dictionary = text.slice(start, end);
    const width = Number(/\/Width\s+(\d+)(?!\d|\s+\d+\s+R)/.exec(dictionary)?.[1]);
    const height = Number(/\/Height\s+(\d+)(?!\d|\s+\d+\s+R)/.exec(dictionary)?.[1]);
    if (!(width > 0 && height > 0)) continue;
    if (!largest || width * height > largest.width * largest.height) largest = { width, height };
  }
  return largest;
}

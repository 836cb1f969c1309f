import { fileTypeFromBuffer } from 'file-type';

/** How many leading bytes are kept for sniffing (file-type needs at most ~4 KiB). */
export const SNIFF_BYTES = 4100;

/**
 * The content type of a file from its bytes, not its name. Binary formats come from their magic
 * numbers (file-type). Text has no magic number, so for text the client's hint (declared type or
 * extension) chooses between text/csv, application/json and text/plain — a hint that can only
 * narrow "this is text", never turn binary into text.
 */
export async function sniffContentType(head: Buffer, hint: { declared: string; name: string }): Promise<string | undefined> {
  const detected = await fileTypeFromBuffer(head);
  if (detected) return detected.mime;
  if (!looksLikeText(head)) return undefined;
  const declared = hint.declared.split(';')[0]!.trim().toLowerCase();
  const extension = hint.name.toLowerCase().split('.').pop() ?? '';
  if (declared === 'application/json' || extension === 'json') return 'application/json';
  if (declared === 'text/csv' || extension === 'csv') return 'text/csv';
  return 'text/plain';
}

/** UTF-8 (a character may be cut at the end of the sniffed head) with no NUL or stray control bytes. */
function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return true;
  for (const byte of head) {
    if (byte === 0) return false;
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c) return false;
  }
  // The head may end inside a multi-byte character: allow up to 3 bytes to be cut off.
  for (let cut = 0; cut <= Math.min(3, head.length); cut += 1) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, head.length - cut));
      return true;
    } catch {
      // try one byte shorter
    }
  }
  return false;
}

import { PermanentError } from '../../../shared/index.js';
import type { PageResult } from './types.js';

/**
 * JSON bytes a plain-text result takes at the least: the text twice (whole, and line by line) and
 * `{"text":""},` around each line.
 */
function leastResultBytes(bytes: Uint8Array): number {
  let lines = 1;
  for (const byte of bytes) if (byte === 0x0a) lines += 1;
  return 2 * bytes.length + 12 * lines;
}

/**
 * Plain text is already text: one page, its lines, no boxes. Only the encoding is checked — and the
 * size, before anything is built: 20 MB of short lines would make a result of ~160 MB and cost the
 * worker a gigabyte of memory only to be refused as too large to send.
 */
export function plainTextPage(bytes: Uint8Array, maxResultBytes: number = Infinity): PageResult {
  const least = leastResultBytes(bytes);
  if (least > maxResultBytes) {
    throw new PermanentError(
      `the text would make a result of at least ${least} bytes of JSON, more than MAX_RESULT_BYTES (${maxResultBytes}); send a shorter text`,
      { code: 'result_too_large' },
    );
  }
  let text: string;
  try {
    // fatal: bytes that are not UTF-8 are refused rather than turned into U+FFFD noise.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (error) {
    throw new PermanentError('the file is not UTF-8 text', { code: 'unsupported_file', cause: error });
  }
  const lines = text.split(/\r\n|\r|\n/);
  // A final newline ends the last line; it does not start another.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return { page: 1, method: 'plain', lines: lines.map((line) => ({ text: line })), words: [] };
}

import { PermanentError } from '../../../shared/index.js';
import type { PageResult } from './types.js';

/** Plain text is already text: one page, its lines, no boxes. Only the encoding is checked. */
export function plainTextPage(bytes: Uint8Array): PageResult {
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

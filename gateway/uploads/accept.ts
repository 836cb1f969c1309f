import { safeFileName, type ProcessorDescriptor } from '../../shared/index.js';
import { HttpError } from '../http/http-errors.js';
import { sniffContentType } from './sniff.js';
import type { StagedFile } from './storage.js';

export type UploadedFile = Express.Multer.File & StagedFile;

/** Text subtypes a processor that takes text/plain also takes (as plain text). */
const TEXT_TYPES = new Set(['text/csv', 'application/json']);

/**
 * Checks staged uploads against what the processor takes — count, size, and the type sniffed from
 * the bytes — and answers 400/413/415 naming what is accepted. Returns each file's checked type.
 */
export async function checkUploads(files: readonly UploadedFile[], processor: ProcessorDescriptor, maxUploadBytes: number): Promise<string[]> {
  const spec = processor.files;
  if (!spec) {
    if (files.length > 0) throw new HttpError(400, 'unexpected_file', `processor "${processor.name}" takes no files`);
    return [];
  }
  if (files.length < spec.minCount || files.length > spec.maxCount) {
    const expected = spec.minCount === spec.maxCount ? `${spec.minCount}` : `${spec.minCount} to ${spec.maxCount}`;
    throw new HttpError(400, 'wrong_file_count', `processor "${processor.name}" takes ${expected} file(s); got ${files.length}`);
  }
  const limit = Math.min(spec.maxBytes ?? maxUploadBytes, maxUploadBytes);
  const types: string[] = [];
  for (const file of files) {
    const name = safeFileName(file.originalname);
    if (file.size > limit)
      throw new HttpError(413, 'file_too_large', `file "${name}" is ${file.size} bytes; processor "${processor.name}" takes at most ${limit}`);
    const sniffed = await sniffContentType(file.head, { declared: file.mimetype, name: file.originalname });
    const accepted =
      sniffed === undefined
        ? undefined
        : spec.accept.includes(sniffed)
          ? sniffed
          : TEXT_TYPES.has(sniffed) && spec.accept.includes('text/plain')
            ? 'text/plain'
            : undefined;
    if (!accepted) {
      throw new HttpError(
        415,
        'unsupported_file_type',
        `file "${name}" is ${sniffed ?? 'of an unknown type'}; processor "${processor.name}" accepts ${spec.accept.join(', ')}`,
        { accepted: spec.accept },
      );
    }
    types.push(accepted);
  }
  return types;
}

// The upload benchmark's file sink (bench/upload.ts loads this directory as PROCESSORS_DIR): it
// takes one text file of any size — text because the gateway sniffs types from the bytes and
// random bytes would be refused as unknown — and its run only stats the file, so the benchmark
// measures the gateway's upload path, not a processor. It lives inside the repository because a
// module outside it cannot resolve '@sinclair/typebox'.
import { stat } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';

/** @type {import('../../shared/processor.js').Processor} */
export default {
  name: 'sink',
  version: '1.0.0',
  description: 'Benchmark only: accepts one text file of any size (up to MAX_UPLOAD_BYTES) and reports its size.',
  fields: Type.Object({}),
  // No maxBytes: the gateway's MAX_UPLOAD_BYTES is the limit, so the benchmark chooses it.
  files: { accept: ['text/plain'], minCount: 1, maxCount: 1 },

  async run(input, ctx) {
    const file = input.files[0];
    const { size } = await stat(ctx.filePath(file));
    return { bytes: size, declared: file.size };
  },
};

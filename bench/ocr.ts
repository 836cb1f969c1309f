import fs from 'node:fs';
import path from 'node:path';
import { testContext } from '../test/support/processor-context.js';
import { document } from '../worker/processors/document/index.js';
import { percentiles } from './http.js';

/**
 * OCR time per page of the document processor, in process (no broker, no HTTP): setup once, then
 * N runs over each image fixture. `npm run bench -- ocr --runs 10`
 */
export async function runOcrBench({ runs }: { runs: number }): Promise<Record<string, unknown>> {
  const test = testContext();
  const began = performance.now();
  await document.setup?.(test.ctx.log);
  const setupMs = performance.now() - began;
  const figures: Record<string, unknown> = { bench: 'ocr', runs, setup_ms: Math.round(setupMs) };
  try {
    for (const [name, type] of [
      ['invoice.png', 'image/png'],
      ['invoice.jpg', 'image/jpeg'],
    ] as const) {
      const file = test.addFile(name, fs.readFileSync(path.join('test/fixtures', name)), type);
      await document.run({ fields: {}, files: [file] }, test.ctx); // warm-up
      const times: number[] = [];
      for (let run = 0; run < runs; run += 1) {
        const t0 = performance.now();
        await document.run({ fields: {}, files: [file] }, test.ctx);
        times.push(performance.now() - t0);
      }
      figures[`${name}_ms_per_page`] = percentiles(times);
    }
  } finally {
    await document.teardown?.();
    test.cleanup();
  }
  return figures;
}

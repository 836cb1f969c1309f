import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { pdfBomb } from '../test/support/bombs.js';
import { testContext } from '../test/support/processor-context.js';
import { configureDecoderLimits } from '../worker/processors/decoder-limits.js';
import { document } from '../worker/processors/document/index.js';

/**
 * Peak RSS of the document processor reading PDF bombs, in this process (no broker, no HTTP): the
 * figures README's *Decoder memory* quotes. One page, `--images` FlateDecode grey images of
 * `--side`² pixels each, `--copies` documents at once, `--rounds` times over.
 *   npx tsx bench/decoder-memory.ts --side 12000                      (the 141 KB, 144 MP bomb)
 *   npx tsx bench/decoder-memory.ts --side 12000 --copies 3
 *   npx tsx bench/decoder-memory.ts --side 6000 --images 6 --budget-mb 600
 * Without `--budget-mb` the worker's defaults apply (MAX_IMAGE_PIXELS 100 MP, a budget of 3/4 of RAM).
 */
const { values } = parseArgs({
  options: {
    side: { type: 'string', default: '12000' },
    images: { type: 'string', default: '1' },
    copies: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '1' },
    'budget-mb': { type: 'string' },
  },
});
const [side, images, copies, rounds] = [values.side, values.images, values.copies, values.rounds].map(Number) as [number, number, number, number];
const budgetMb = values['budget-mb'] === undefined ? undefined : Number(values['budget-mb']);

/** The kernel's figures for this process: resident now, and its peak (high-water mark). */
function memory(): { rss_mb: number; peak_rss_mb: number } {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const mb = (field: string): number => Math.round(Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]) / 1024);
  return { rss_mb: mb('VmRSS'), peak_rss_mb: mb('VmHWM') };
}

configureDecoderLimits({ memoryBudgetMb: budgetMb });
const bomb = await pdfBomb(side, side, { images });
const context = testContext();
await document.setup?.(context.ctx.log);
const figures: Record<string, unknown> = {
  bench: 'decoder-memory',
  side,
  images,
  copies,
  bomb_bytes: bomb.length,
  budget_mb: budgetMb ?? 'default',
  after_setup: memory(),
};
try {
  for (let round = 1; round <= rounds; round++) {
    const began = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: copies }, () => {
        const file = context.addFile('bomb.pdf', bomb, 'application/pdf');
        return document.run({ fields: {}, files: [file] }, context.ctx).then(
          () => 'SUCCESS',
          (error: unknown) => (error as { code?: string }).code ?? String(error),
        );
      }),
    );
    figures[`round_${round}`] = { outcomes, ms: Math.round(performance.now() - began), ...memory() };
  }
} finally {
  await document.teardown?.();
  context.cleanup();
}
console.log(JSON.stringify(figures));

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadProcessorDir } from '../../shared/index.js';

/** PROCESSORS_DIR: a processor's `concurrency` becomes its queue's prefetch, so a bad one stops the process. */
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function processorDir(concurrency: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-processors-'));
  dirs.push(dir);
  fs.writeFileSync(
    path.join(dir, 'heavy.mjs'),
    `import { Type } from '@sinclair/typebox';
export default { name: 'heavy', version: '1.0.0', description: 'x', fields: Type.Object({}), concurrency: ${concurrency}, async run() { return null; } };
`,
  );
  // The module imports typebox the way a processor outside this repository would: from its own node_modules.
  fs.symlinkSync(path.resolve('node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

describe('processors from PROCESSORS_DIR', () => {
  it('keep their concurrency', async () => {
    const [heavy] = await loadProcessorDir(processorDir('2'));
    expect(heavy?.concurrency).toBe(2);
  });

  it.each(['0', '1.5', '"2"'])('stop the process on a concurrency of %s, naming the file', async (concurrency) => {
    const loading = loadProcessorDir(processorDir(concurrency));
    await expect(loading).rejects.toBeInstanceOf(ConfigError);
    await expect(loadProcessorDir(processorDir(concurrency))).rejects.toThrow(
      /^PROCESSORS_DIR: heavy\.mjs: the default export has a concurrency that is not a whole number of at least 1$/,
    );
  });
});

describe('batching processors from PROCESSORS_DIR', () => {
  function batchingDir(body: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-processors-'));
    dirs.push(dir);
    fs.writeFileSync(
      path.join(dir, 'model.mjs'),
      `export default { name: 'model', version: '1', description: 'x', fields: { type: 'object', [Symbol.for('TypeBox.Kind')]: 'Object', properties: {} }, ${body} };\n`,
    );
    return dir;
  }

  it('may give runBatch alone: one task on its own is a batch of one', async () => {
    const [model] = await loadProcessorDir(
      batchingDir(`batch: { maxSize: 8, maxWaitMs: 10 }, async runBatch(inputs) { return inputs.map((i) => i.fields.n * 2); }`),
    );
    expect(await model!.run({ fields: { n: 21 }, files: [] }, {} as never)).toBe(42);
  });

  it.each([
    ['batch without runBatch', `batch: { maxSize: 8, maxWaitMs: 10 }, async run() {}`, /needs both `batch: \{ maxSize, maxWaitMs \}` and an async runBatch/],
    ['a batch of 0', `batch: { maxSize: 0, maxWaitMs: 10 }, async runBatch() { return []; }`, /batch\.maxSize that is not a whole number from 1 to 1000/],
    [
      'a wait of a day',
      `batch: { maxSize: 4, maxWaitMs: 86400000 }, async runBatch() { return []; }`,
      /batch\.maxWaitMs that is not a whole number from 0 to 60000/,
    ],
  ])('stop the process on %s', async (_what, body, message) => {
    await expect(loadProcessorDir(batchingDir(body))).rejects.toThrow(message);
  });
});

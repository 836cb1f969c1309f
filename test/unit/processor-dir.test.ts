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
    await expect(loadProcessorDir(processorDir(concurrency))).rejects.toThrow(/^PROCESSORS_DIR: heavy\.mjs: the default export has a concurrency that is not a whole number of at least 1$/);
  });
});

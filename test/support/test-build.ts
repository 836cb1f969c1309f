import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { copyAssets } from '../../scripts/copy-assets.js';

/**
 * Vitest's global setup: one build of the gateway and the worker for this test run, as `npm run
 * build` makes it for the images (tsc, then the assets), so the many gateway and worker processes
 * the tests start run compiled JavaScript instead of each compiling the sources through tsx
 * (0.65 s of CPU per process, a few hundred processes per run). Types are checked by `npm run
 * typecheck`, not here. Each run builds into a directory of its own, named for it in
 * WARREN_TEST_BUILD (which the test workers inherit), and removes it at the end.
 */
const root = path.resolve(import.meta.dirname, '../..');

export function setup(): () => void {
  const outDir = path.join(root, 'node_modules', '.cache', 'warren-test-build', String(process.pid));
  fs.rmSync(outDir, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--noCheck', '--outDir', outDir], { cwd: root, stdio: 'inherit' });
  copyAssets(root, outDir);
  process.env.WARREN_TEST_BUILD = outDir;
  return () => fs.rmSync(outDir, { recursive: true, force: true });
}

/**
 * Step two of `npm run build` (run as dist/scripts/copy-assets.js, after tsc): tsc emits only
 * JavaScript, but the compiled code looks for these files next to itself, as the sources do.
 * Keeping the copy here, not in the Dockerfile, means the image and a build outside Docker are
 * the same build.
 */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ASSETS = [
  'gateway/public', // the upload form's scripts and styles
  'worker/processors/categorize/model.json', // the categorizer's trained model
];

/** Copy the assets from the sources under `root` into a build under `outDir` (the tests' own build uses it too). */
export function copyAssets(root: string, outDir: string): void {
  for (const asset of ASSETS) cpSync(path.join(root, asset), path.join(outDir, asset), { recursive: true });
}

// As `npm run build`'s step two: this file is dist/scripts/copy-assets.js, the sources two levels up.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  copyAssets(root, path.join(root, 'dist'));
}

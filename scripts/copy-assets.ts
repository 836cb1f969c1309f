/**
 * Step two of `npm run build` (run as dist/scripts/copy-assets.js, after tsc): tsc emits only
 * JavaScript, but the compiled code looks for these files next to itself, as the sources do.
 * Keeping the copy here, not in the Dockerfile, means the image and a build outside Docker are
 * the same build.
 */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ASSETS = [
  'gateway/public', // the upload form's scripts and styles
  'worker/processors/categorize/model.json', // the categorizer's trained model
];

const root = fileURLToPath(new URL('../../', import.meta.url));
const outDir = path.join(root, 'dist');
for (const asset of ASSETS) cpSync(path.join(root, asset), path.join(outDir, asset), { recursive: true });

/**
 * Writes docs/openapi.json and docs/asyncapi.json for the default configuration (BASE_PATH
 * /prediction, AMQP_PREFIX warren, the built-in processors), from the same builders the gateway
 * serves them with at {base}/openapi.json and {base}/asyncapi.json. test/unit/api-docs.test.ts
 * fails when the committed files are stale.
 *
 *   npx tsx scripts/generate-api-docs.ts            # rewrite docs/openapi.json and docs/asyncapi.json
 *   npx tsx scripts/generate-api-docs.ts --stdout   # print both instead
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { apiDocuments } from '../gateway/docs/openapi.js';
import { BUILTIN_DESCRIPTORS, loadConfig } from '../shared/index.js';

export const OPENAPI_PATH = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
export const ASYNCAPI_PATH = fileURLToPath(new URL('../docs/asyncapi.json', import.meta.url));

export function renderApiDocs(): { openapi: string; asyncapi: string } {
  // Defaults, never the caller's environment: the files describe the default deployment.
  const { openapi, asyncapi } = apiDocuments(loadConfig({}), BUILTIN_DESCRIPTORS);
  const render = (document: unknown): string => `${JSON.stringify(document, null, 2)}\n`;
  return { openapi: render(openapi), asyncapi: render(asyncapi) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { openapi, asyncapi } = renderApiDocs();
  if (process.argv.includes('--stdout')) {
    process.stdout.write(openapi + asyncapi);
  } else {
    writeFileSync(OPENAPI_PATH, openapi);
    writeFileSync(ASYNCAPI_PATH, asyncapi);
    console.log(`wrote ${OPENAPI_PATH} and ${ASYNCAPI_PATH}`);
  }
}

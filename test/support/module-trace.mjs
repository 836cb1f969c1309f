// Loaded with `node --import tsx --import ./test/support/module-trace.mjs <entry>`: every module the
// process resolves is written to stderr as `[module] <url>`, so a test can say what a process loads.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  process.stderr.write('[module] ' + resolved.url + '\\n');
  return resolved;
}`),
);

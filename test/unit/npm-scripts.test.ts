import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const scripts = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts;

describe('npm scripts that run warren', () => {
  // Regression: under the tsx CLI, a signal goes through tsx's relay, which SIGKILLs its child
  // when the child has not acknowledged the signal over IPC within 30 ms. On a loaded machine that
  // happened to `npm start` on Ctrl-C: the RabbitMQ node it had started was never stopped, and a
  // supervisor's SIGTERM would cut a worker's graceful drain short the same way.
  it.each(['start', 'gateway', 'worker'])('%s runs under node itself (node --import tsx), so signals reach warren unrelayed', (name) => {
    expect(scripts[name]).toMatch(/^exec node --import tsx \S+\.ts$/);
  });
});

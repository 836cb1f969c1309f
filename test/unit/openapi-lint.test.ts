import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { OPENAPI_PATH } from '../../scripts/generate-api-docs.js';

/**
 * docs/openapi.json (what a gateway with the defaults serves; test/unit/api-docs.test.ts and
 * test/e2e/generated-client.test.ts hold it to that) passes Redocly's recommended rules with no
 * error. The warnings left are listed in the README's HTTP API section.
 */
const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../node_modules/@redocly/cli/bin/cli.js', import.meta.url));

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
}

describe('the OpenAPI document under redocly lint (recommended rules)', () => {
  it('has no errors', async () => {
    // Telemetry and the update check off: a test phones nobody.
    const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
    const args = [CLI, 'lint', OPENAPI_PATH, '--extends=recommended', '--format=json'];
    // Errors make the CLI exit non-zero; the report is on stdout either way.
    const stdout = await run(process.execPath, args, { env, maxBuffer: 16 * 1024 * 1024 }).then(
      (done) => done.stdout,
      (err: { stdout?: string }) => err.stdout ?? '',
    );
    const report = JSON.parse(stdout) as LintReport;
    const errors = report.problems.filter((problem) => problem.severity === 'error');
    expect(errors.map((e) => `${e.ruleId} at ${e.location[0]?.pointer ?? '?'}: ${e.message}`)).toEqual([]);
    expect(report.totals.errors).toBe(0);
  }, 30_000);
});

import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../shared/index.js';
import { plainTextPage } from '../../worker/processors/document/plain.js';
import { checkResult } from '../../worker/run-outcome.js';

describe('result size limits', () => {
  it('passes a result of up to MAX_RESULT_BYTES of JSON and fails a larger one for good, as result_too_large', () => {
    expect(() => checkResult({ text: 'x'.repeat(100) }, 200)).not.toThrow();
    let refusal: unknown;
    try {
      checkResult({ text: 'x'.repeat(300) }, 200);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(PermanentError);
    expect(refusal).toMatchObject({ code: 'result_too_large', message: expect.stringMatching(/311 bytes of JSON, more than MAX_RESULT_BYTES \(200\)/) });
  });

  it('fails a result that is not JSON for good, rather than failing its publish again and again', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => checkResult(circular, 1000)).toThrow(expect.objectContaining({ code: 'result_not_json' }));
    expect(() => checkResult({ n: 10n }, 1000)).toThrow(expect.objectContaining({ code: 'result_not_json' }));
  });

  it('lets document refuse a text before building a result that could not be sent', () => {
    const lines = Buffer.alloc(2_000, 'a\n');
    expect(() => plainTextPage(lines, 10_000)).toThrow(expect.objectContaining({ code: 'result_too_large' }));
    expect(plainTextPage(lines, 100_000).lines).toHaveLength(1_000);
  });
});

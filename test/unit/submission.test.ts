import { describe, expect, it } from 'vitest';
import { BUILTIN_DESCRIPTORS } from '../../shared/index.js';
import { HttpError } from '../../gateway/http/http-errors.js';
import { SubmissionParser } from '../../gateway/tasks/submission.js';

const parser = new SubmissionParser(BUILTIN_DESCRIPTORS, { defaultProcessor: 'echo', maxFieldBytes: 100, maxFields: 5 });

function rejection(body: unknown): HttpError {
  try {
    parser.parse(body, 'form');
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('expected the submission to be refused');
}

describe('submission parsing', () => {
  it('uses the default processor when none is named', () => {
    const submission = parser.parse({ item_a: 'TV', item_b: 'Samsung' });
    expect(submission.processor.name).toBe('echo');
    expect(submission.fields).toEqual({ item_a: 'TV', item_b: 'Samsung' });
  });

  it('passes structured JSON values to the processor schema, which decides', () => {
    expect(() => parser.parse({ item_a: ['a', 'b'] }, 'json')).toThrow(/fields do not fit processor "echo"/);
  });

  it('treats an empty optional form field as not given', () => {
    expect(parser.parse({ item_a: 'x', sleep_ms: '' }, 'form').fields).toEqual({ item_a: 'x' });
  });

  it('converts form strings to the types the processor declares', () => {
    expect(parser.parse({ processor: 'echo', sleep_ms: '25' }).fields).toEqual({ sleep_ms: 25 });
  });

  it.each([
    [{ processor: 'nope' }, 400, 'unknown_processor'],
    [{ processor: 42 }, 400, 'invalid_processor'],
    [{ sleep_ms: 'soon' }, 400, 'invalid_fields'],
    [{ sleep_ms: -1 }, 400, 'invalid_fields'],
    [{ item_a: ['a', 'b'] }, 400, 'repeated_field'],
    [{ item_a: { nested: true } }, 400, 'invalid_fields'],
    [{ 'bad name': 'x' }, 400, 'invalid_field_name'],
    [{ item_a: 'x'.repeat(101) }, 413, 'field_too_large'],
    [{ a: '1', b: '2', c: '3', d: '4', e: '5', f: '6', g: '7' }, 413, 'too_many_fields'],
    [[1, 2], 400, 'invalid_body'],
    ['text', 400, 'invalid_body'],
  ])('refuses %j with %i %s', (body, status, code) => {
    const err = rejection(body);
    expect(err.status).toBe(status);
    expect(err.code).toBe(code);
  });
});

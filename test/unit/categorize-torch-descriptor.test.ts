import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProcessorDescriptors } from '../../shared/index.js';
import { HttpError } from '../../gateway/http/http-errors.js';
import { SubmissionParser } from '../../gateway/tasks/submission.js';

/**
 * The PyTorch example's descriptor, worker/python/examples/processors/categorize-torch.json: what
 * a gateway with PROCESSORS_DIR pointing there validates submissions against, so a bad one is a
 * 400 at the gateway rather than a failed task at the Python worker.
 */
const dir = path.resolve(import.meta.dirname, '../../worker/python/examples/processors');

async function parser(): Promise<SubmissionParser> {
  const descriptors = await loadProcessorDescriptors(dir);
  return new SubmissionParser(descriptors, { defaultProcessor: 'categorize-torch', maxFieldBytes: 10_000, maxFields: 10 });
}

function refusal(submissions: SubmissionParser, body: Record<string, unknown>): HttpError {
  try {
    submissions.parse(body, 'form');
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('expected the submission to be refused');
}

describe('the categorize-torch descriptor', () => {
  it('loads from PROCESSORS_DIR as the only processor there, with its name and version', async () => {
    const descriptors = await loadProcessorDescriptors(dir);
    expect(descriptors.map((d) => [d.name, d.version])).toEqual([['categorize-torch', '1.0.0']]);
    expect(descriptors[0]!.description).toMatch(/PyTorch/);
    expect(descriptors[0]!.fields.required).toEqual(['item_a']);
  });

  it('takes the original form fields and converts top to a number', async () => {
    const submissions = await parser();
    expect(submissions.parse({ item_a: 'Galaxy S23 Ultra 256GB', item_b: 'Samsung', top: '2' }, 'form')).toMatchObject({
      processor: { name: 'categorize-torch' },
      fields: { item_a: 'Galaxy S23 Ultra 256GB', item_b: 'Samsung', top: 2 },
    });
    expect(submissions.parse({ item_a: 'Galaxy S23 Ultra 256GB' }, 'form').fields).toMatchObject({ item_a: 'Galaxy S23 Ultra 256GB' });
  });

  it.each([
    ['no item_a', { item_b: 'Samsung' }, /item_a/],
    ['an empty item_a', { item_a: '' }, /item_a/],
    ['an item_a of 501 characters', { item_a: 'x'.repeat(501) }, /item_a/],
    ['an item_b of 201 characters', { item_a: 'TV', item_b: 'b'.repeat(201) }, /item_b/],
    ['top 11', { item_a: 'TV', top: '11' }, /top/],
    ['top 0', { item_a: 'TV', top: '0' }, /top/],
  ])('refuses %s with 400 invalid_fields', async (_case, body, named) => {
    const error = refusal(await parser(), body);
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_fields');
    expect(error.message).toMatch(named);
  });
});

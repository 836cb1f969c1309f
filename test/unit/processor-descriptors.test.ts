import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadProcessorDescriptors, loadProcessorDir } from '../../shared/index.js';
import { HttpError } from '../../gateway/http/http-errors.js';
import { SubmissionParser } from '../../gateway/tasks/submission.js';

/**
 * Processors described by data: `<name>.json` in PROCESSORS_DIR, for models served by a Python or
 * Celery worker. The gateway validates submissions to them exactly as to built-ins; a descriptor
 * it cannot honour stops the process, naming the file and the spot.
 */
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function dirWith(files: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-descriptors-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

const sentiment = {
  name: 'sentiment',
  version: '2.1.0',
  description: 'Says whether a review is positive (a PyTorch model served by a Python worker).',
  fields: {
    type: 'object',
    properties: {
      text: { type: 'string', minLength: 1, maxLength: 2000, description: 'The review' },
      language: { type: 'string', enum: ['en', 'de'], default: 'en' },
      threshold: { type: 'number', minimum: 0, maximum: 1 },
      top: { type: 'integer', minimum: 1, maximum: 5 },
      explain: { type: 'boolean' },
      tags: { type: 'array', items: { type: 'string', pattern: '^[a-z]+$' }, maxItems: 3 },
    },
    required: ['text'],
    additionalProperties: false,
  },
  timeoutMs: 60_000,
};

function refusal(parser: SubmissionParser, body: unknown, source: 'form' | 'json' = 'form'): HttpError {
  try {
    parser.parse(body, source);
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('expected the submission to be refused');
}

describe('JSON processor descriptors', () => {
  it('validate submissions like a built-in: form strings converted to the declared types, bounds and enums enforced', async () => {
    const [descriptor] = await loadProcessorDescriptors(dirWith({ 'sentiment.json': sentiment }));
    expect(descriptor).toMatchObject({ name: 'sentiment', version: '2.1.0', timeoutMs: 60_000 });
    const parser = new SubmissionParser([descriptor!], { defaultProcessor: 'sentiment', maxFieldBytes: 10_000, maxFields: 10 });
    expect(parser.parse({ text: 'great', threshold: '0.5', top: '2', explain: 'true' }, 'form').fields).toEqual({
      text: 'great',
      threshold: 0.5,
      top: 2,
      explain: true,
    });
    expect(parser.parse({ text: 'gut', language: 'de', tags: ['a', 'b'] }, 'json').fields).toEqual({ text: 'gut', language: 'de', tags: ['a', 'b'] });
    expect(refusal(parser, { threshold: '0.5' }).code).toBe('invalid_fields');
    expect(refusal(parser, { text: 'x', language: 'fr' }).message).toMatch(/language/);
    expect(refusal(parser, { text: 'x', top: '9' }).message).toMatch(/top/);
    expect(refusal(parser, { text: 'x', tags: ['UPPER'] }, 'json').message).toMatch(/tags/);
    expect(refusal(parser, { text: 'x', surprise: '1' }).code).toBe('invalid_fields');
  });

  it('sit beside module processors, which the worker alone loads', async () => {
    const dir = dirWith({ 'sentiment.json': sentiment, 'upper.json': { name: 'upper', version: '1', description: 'd' } });
    expect((await loadProcessorDescriptors(dir)).map((p) => p.name)).toEqual(['sentiment', 'upper']);
    expect(await loadProcessorDir(dir)).toEqual([]);
  });

  it('carry where a Celery worker takes their tasks, "celery" being the default queue', async () => {
    const [elab] = await loadProcessorDescriptors(
      dirWith({ 'elab.json': { name: 'elab', version: '1', description: 'the seed worker', celery: { task: 'tasks.elab_file' } } }),
    );
    expect(elab?.celery).toEqual({ task: 'tasks.elab_file', queue: 'celery' });
  });

  it.each([
    ['not JSON', { 'bad.json': '{"name": ' }, /^PROCESSORS_DIR: bad\.json: not JSON/],
    [
      'a file named after another processor',
      { 'other.json': { ...sentiment } },
      /other\.json: is named after another processor: it describes "sentiment", so call it sentiment\.json/,
    ],
    ['an unknown key', { 'sentiment.json': { ...sentiment, tiemoutMs: 5 } }, /sentiment\.json: unknown key "tiemoutMs"/],
    [
      'a keyword it cannot honour',
      { 'sentiment.json': { ...sentiment, fields: { type: 'object', properties: { text: { type: 'string', oneOf: [] } } } } },
      /fields\.properties\.text: "oneOf" not supported for a string/,
    ],
    [
      'a required field it does not describe',
      { 'sentiment.json': { ...sentiment, fields: { type: 'object', required: ['text'] } } },
      /"required" must list names of "properties"/,
    ],
    [
      'a bad pattern',
      { 'sentiment.json': { ...sentiment, fields: { type: 'object', properties: { a: { type: 'string', pattern: '(' } } } } },
      /"pattern" is not a regular expression/,
    ],
    ['files without types', { 'sentiment.json': { ...sentiment, files: { accept: [], minCount: 1, maxCount: 1 } } }, /"files\.accept" must list MIME types/],
    ['a bad Celery task', { 'sentiment.json': { ...sentiment, celery: { task: 'no spaces allowed' } } }, /"celery\.task" must name a Celery task/],
    ['the same name twice', { 'sentiment.json': sentiment, 'sentiment.mjs': 'export default {}' }, /PROCESSORS_DIR/],
  ])('stop the process on %s, naming the file', async (_what, files, message) => {
    const loading = loadProcessorDescriptors(dirWith(files));
    await expect(loading).rejects.toBeInstanceOf(ConfigError);
    await expect(loadProcessorDescriptors(dirWith(files))).rejects.toThrow(message);
  });
});

import { readFile } from 'node:fs/promises';
import { categorizeDescriptor, PermanentError, type Processor } from '../../../shared/index.js';
import { parseModel, predict, type CategorizeModel } from './model.js';

const MODEL_URL = new URL('./model.json', import.meta.url);
const DEFAULT_TOP = 3;
const MAX_TOP = 10;
const MAX_NAME_LENGTH = 500;

/** Loaded once per worker process by setup(); scoring then needs no I/O. */
let model: CategorizeModel | undefined;

/**
 * Four decimals, rounded down: enough for anyone reading a confidence, and rounding down keeps
 * the returned confidences summing to at most 1 and in the same order as the model's.
 */
function confidence(probability: number): number {
  return Math.floor(probability * 10_000) / 10_000;
}

function requestedTop(value: unknown): number {
  if (value === undefined || value === null || value === '') return DEFAULT_TOP;
  const top = typeof value === 'string' ? Number(value) : value;
  if (typeof top !== 'number' || !Number.isInteger(top) || top < 1 || top > MAX_TOP) {
    throw new PermanentError(`top must be an integer from 1 to ${MAX_TOP}`, { code: 'invalid_input' });
  }
  return top;
}

/**
 * Product name (item_a) + brand (item_b) → shop category. Scoring is a sparse dot product over a
 * few hundred features (well under a millisecond), so it runs inline rather than in a worker thread.
 */
export const categorize: Processor = {
  ...categorizeDescriptor,

  async setup(log) {
    model = parseModel(await readFile(MODEL_URL, 'utf8'));
    log.info(
      { categories: model.categories.length, features: model.featureIndex.size, trained_at: model.trainedAt, accuracy: model.accuracy },
      'categorize model loaded',
    );
  },

  async teardown() {
    model = undefined;
  },

  async run(input) {
    if (!model) throw new Error('categorize model is not loaded: setup() must run before run()');
    const { item_a: name, item_b: brand } = input.fields;
    if (typeof name !== 'string' || name.trim() === '') throw new PermanentError('item_a must name a product', { code: 'invalid_input' });
    if (name.length > MAX_NAME_LENGTH) throw new PermanentError(`item_a is longer than ${MAX_NAME_LENGTH} characters`, { code: 'invalid_input' });
    if (brand !== undefined && brand !== null && typeof brand !== 'string') {
      throw new PermanentError('item_b must be a brand name', { code: 'invalid_input' });
    }
    const top = requestedTop(input.fields.top);

    const [best, ...rest] = predict(model, name, brand ?? undefined).map((p) => ({ category: p.category, confidence: confidence(p.confidence) }));
    if (!best) throw new Error('categorize model has no categories');
    return {
      category: best.category,
      confidence: best.confidence,
      alternatives: rest.slice(0, top - 1),
      model: { name: categorizeDescriptor.name, version: categorizeDescriptor.version, trained_at: model.trainedAt, accuracy: model.accuracy },
    };
  },
};

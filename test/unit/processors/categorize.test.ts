import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, type TaskInput } from '../../../shared/index.js';
import { categorize } from '../../../worker/processors/categorize/index.js';
import { loadDataset, stratifiedSplit } from '../../../worker/processors/categorize/dataset.js';
import { parseModel, predict, serializeModel } from '../../../worker/processors/categorize/model.js';
import { DEFAULT_TRAIN_OPTIONS, evaluate, trainModel } from '../../../worker/processors/categorize/train.js';
import { testContext } from '../../support/processor-context.js';

interface CategorizeResult {
  category: string;
  confidence: number;
  alternatives: { category: string; confidence: number }[];
  model: { name: string; version: string; trained_at: string; accuracy: number };
}

const context = testContext();

async function classify(fields: TaskInput['fields']): Promise<CategorizeResult> {
  return (await categorize.run({ fields, files: [] }, context.ctx)) as CategorizeResult;
}

beforeAll(async () => {
  await categorize.setup?.(context.ctx.log);
});

afterAll(async () => {
  await categorize.teardown?.();
  context.cleanup();
});

describe('categorize processor', () => {
  it('puts the original example in Smartphones, with the model it used', async () => {
    const result = await classify({ item_a: 'Galaxy S23 Ultra 256GB', item_b: 'Samsung' });
    expect(result.category).toBe('Smartphones');
    expect(result.confidence).toBeGreaterThan(0.5);
    expect(result.model).toMatchObject({ name: 'categorize', version: categorize.version });
    expect(Date.parse(result.model.trained_at)).not.toBeNaN();
    expect(result.model.accuracy).toBeGreaterThan(0.8);
  });

  // None of these names is in the dataset; pairs share a brand so the name has to decide.
  it.each([
    ['Samsung 55" Crystal UHD 4K Smart TV UE55CU8000', 'Samsung', 'Televisions'],
    ['Samsung 9kg EcoBubble washing machine WW90', 'Samsung', 'Home Appliances'],
    ['Alpha 7C mirrorless camera body', 'Sony', 'Cameras'],
    ['PlayStation 5 Digital Edition', 'Sony', 'Toys & Games'],
    ['WH-CH720N wireless noise cancelling headphones', 'Sony', 'Audio & Headphones'],
    ['Sonicare 3100 electric toothbrush', 'Philips', 'Beauty & Personal Care'],
    ['Airfryer 5000 Series XXL', 'Philips', 'Kitchen'],
    ['Air Zoom Pegasus 39 running shoes', 'Nike', 'Footwear'],
    ['Dri-FIT Miler running t-shirt', 'Nike', 'Clothing'],
    ['MacBook Air 15-inch M3 16GB 512GB', 'Apple', 'Computers & Tablets'],
    ['Aerotwin wiper blade 24 inch', 'Bosch', 'Automotive'],
    ['Harry Potter and the Chamber of Secrets paperback', 'Bloomsbury', 'Books'],
    ['Crema e Aroma coffee beans 1kg', 'Lavazza', 'Grocery'],
    ['MALM bed frame high 160x200 white', 'IKEA', 'Furniture'],
    ['Forerunner 965 GPS running watch', 'Garmin', 'Sports & Outdoors'],
  ])('%s (%s) is %s', async (name, brand, expected) => {
    expect((await classify({ item_a: name, item_b: brand })).category).toBe(expected);
  });

  it('lets the name outweigh a brand known for other things', async () => {
    expect((await classify({ item_a: 'Stainless steel electric kettle 1.7L', item_b: 'Samsung' })).category).toBe('Kitchen');
    expect((await classify({ item_a: '43 inch 4K UHD LED smart TV', item_b: 'Philips' })).category).toBe('Televisions');
  });

  it('works without a brand', async () => {
    expect((await classify({ item_a: 'Wireless earbuds with charging case Bluetooth 5.3' })).category).toBe('Audio & Headphones');
    expect((await classify({ item_a: 'Non-stick frying pan 28cm induction', item_b: '' })).category).toBe('Kitchen');
  });

  it('returns top categories sorted, with confidences that sum to at most 1', async () => {
    const result = await classify({ item_a: 'Galaxy Tab S9 11 inch tablet', item_b: 'Samsung', top: 5 });
    expect(result.alternatives).toHaveLength(4);
    const confidences = [result.confidence, ...result.alternatives.map((a) => a.confidence)];
    expect([...confidences].sort((a, b) => b - a)).toEqual(confidences);
    expect(confidences.reduce((sum, c) => sum + c, 0)).toBeLessThanOrEqual(1);
    for (const c of confidences) expect(c).toBeGreaterThanOrEqual(0);
    expect(new Set([result.category, ...result.alternatives.map((a) => a.category)]).size).toBe(5);

    expect((await classify({ item_a: 'Galaxy Tab S9 11 inch tablet', item_b: 'Samsung' })).alternatives).toHaveLength(2);
    expect((await classify({ item_a: 'Galaxy Tab S9 11 inch tablet', item_b: 'Samsung', top: 1 })).alternatives).toEqual([]);
  });

  it('fails permanently on input it cannot use', async () => {
    for (const fields of [{ item_a: '' }, { item_a: '   \t ' }, {}, { item_a: 42 }]) {
      const failure = classify(fields);
      await expect(failure).rejects.toBeInstanceOf(PermanentError);
      await expect(failure).rejects.toMatchObject({ code: 'invalid_input' });
    }
    await expect(classify({ item_a: 'Galaxy S23', top: 11 })).rejects.toBeInstanceOf(PermanentError);
  });

  it('scores well within the event-loop budget', async () => {
    const calls = 500;
    const started = performance.now();
    for (let i = 0; i < calls; i++) await classify({ item_a: `Samsung 65" QN90C Neo QLED 4K Smart TV model ${i}`, item_b: 'Samsung' });
    expect((performance.now() - started) / calls).toBeLessThan(5);
  });
});

describe('categorize training', () => {
  // The shipped settings reach about 0.91 on this split; 0.85 leaves room for dataset edits while
  // still failing on a broken pipeline (guessing the largest class scores under 0.07).
  it('retrains from the dataset and classifies held-out products accurately', () => {
    const { train, test } = stratifiedSplit(loadDataset(), 0.2, DEFAULT_TRAIN_OPTIONS.seed);
    expect(new Set(test.map((row) => row.category)).size).toBe(new Set(train.map((row) => row.category)).size);
    const model = trainModel(train);
    const report = evaluate(model, test);
    expect(report.accuracy).toBeGreaterThanOrEqual(0.85);
    for (const c of report.perClass) expect(c.recall, c.category).toBeGreaterThanOrEqual(0.6);

    // What setup() loads must predict what training produced, despite the int16 weights.
    const reloaded = parseModel(serializeModel(model));
    for (const row of test.slice(0, 50)) {
      expect(predict(reloaded, row.name, row.brand)[0]?.category).toBe(predict(model, row.name, row.brand)[0]?.category);
    }
  });

  it('is deterministic for a given seed', () => {
    const rows = loadDataset().filter((_, i) => i % 4 === 0);
    const first = trainModel(rows, { epochs: 5 });
    const second = trainModel(rows, { epochs: 5 });
    // Byte comparison: a deep equality over 100k+ typed-array elements is needlessly slow.
    expect(Buffer.from(second.weights.buffer).equals(Buffer.from(first.weights.buffer))).toBe(true);
    expect(Buffer.from(second.bias.buffer).equals(Buffer.from(first.bias.buffer))).toBe(true);
  });

  // The shipped file learned from the training rows only, so the held-out split judges it as served.
  it('ships a model whose held-out confidences are calibrated (ECE < 0.05) and not all near 1', async () => {
    const { train, test } = stratifiedSplit(loadDataset(), 0.2, DEFAULT_TRAIN_OPTIONS.seed);
    const shipped = parseModel(await readFile(new URL('../../../worker/processors/categorize/model.json', import.meta.url), 'utf8'));
    expect(shipped.trainingRows).toBe(train.length);
    const report = evaluate(shipped, test);
    expect(report.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(report.accuracy).toBeCloseTo(shipped.accuracy, 3);
    expect(report.calibrationError).toBeLessThan(0.05);
    // Sure where it is right, unsure where it may not be: a fair share of held-out answers are below 90 %.
    const unsure = test.filter((row) => (predict(shipped, row.name, row.brand)[0]?.confidence ?? 1) < 0.9).length;
    expect(unsure / test.length).toBeGreaterThan(0.1);
  });
});

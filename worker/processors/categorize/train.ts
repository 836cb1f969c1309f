/**
 * Trains the categorize model from data/products.csv and writes model.json next to this file.
 * `npm run train` (or `npx tsx worker/processors/categorize/train.ts`). Deterministic: the split,
 * the training order and the brand dropout all come from one seed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { loadDataset, nearestWordOverlap, seededRandom, shuffle, stratifiedSplit, type ProductRow } from './dataset.js';
import { DEFAULT_FEATURE_WEIGHTS, extractFeatures, logits, parseModel, serializeModel, softmax, type CategorizeModel, type FeatureWeights } from './model.js';

export const MODEL_URL = new URL('./model.json', import.meta.url);

export interface TrainOptions {
  seed: number;
  epochs: number;
  /** Initial SGD step; it decays as 1 / (1 + rate·l2·t). */
  learningRate: number;
  /** L2 penalty: keeps weights small, which keeps the softmax from claiming certainty it has not earned. */
  l2: number;
  /** Fraction of training visits that hide the brand, so the name must carry the decision and a missing item_b still works. */
  brandDropout: number;
  /** Character n-grams seen in fewer training rows are dropped: they only memorise one product and bloat the file. */
  minCharGramRows: number;
  featureWeights: FeatureWeights;
  temperature: number;
  /** Recorded in the model: the accuracy measured on rows this model's recipe never saw. */
  heldOutAccuracy: number;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  seed: 20240611,
  epochs: 30,
  learningRate: 0.5,
  l2: 1e-5,
  brandDropout: 0.3,
  minCharGramRows: 2,
  featureWeights: DEFAULT_FEATURE_WEIGHTS,
  temperature: 1,
  heldOutAccuracy: Number.NaN,
};

interface EncodedRow {
  rows: Int32Array;
  values: Float64Array;
  /** Position in `rows` of the brand feature, or -1. */
  brandAt: number;
  label: number;
}

export function trainModel(rows: readonly ProductRow[], overrides: Partial<TrainOptions> = {}): CategorizeModel {
  const options = { ...DEFAULT_TRAIN_OPTIONS, ...overrides };
  const categories = [...new Set(rows.map((row) => row.category))].sort();
  const vectors = rows.map((row) => extractFeatures(row.name, row.brand, options.featureWeights));

  const rowCounts = new Map<string, number>();
  for (const vector of vectors) for (const key of vector.keys) rowCounts.set(key, (rowCounts.get(key) ?? 0) + 1);
  const featureIndex = new Map<string, number>();
  for (const [key, count] of rowCounts) {
    if (key.startsWith('c:') && count < options.minCharGramRows) continue;
    featureIndex.set(key, featureIndex.size);
  }

  const encoded: EncodedRow[] = vectors.map((vector, i) => {
    const kept = vector.keys.flatMap((key, j) => (featureIndex.has(key) ? [j] : []));
    return {
      rows: Int32Array.from(kept, (j) => featureIndex.get(vector.keys[j] as string) as number),
      values: Float64Array.from(kept, (j) => vector.values[j] as number),
      brandAt: kept.findIndex((j) => (vector.keys[j] as string).startsWith('brand:')),
      label: categories.indexOf((rows[i] as ProductRow).category),
    };
  });

  const classes = categories.length;
  // W = scale · V: the L2 decay of every weight is one multiplication of `scale` per step.
  const scaled = new Float64Array(featureIndex.size * classes);
  const bias = new Float64Array(classes);
  const scores = new Float64Array(classes);
  let scale = 1;
  let step = 0;
  const random = seededRandom(options.seed);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    for (const example of shuffle(encoded, random)) {
      const rate = options.learningRate / (1 + options.learningRate * options.l2 * step++);
      const skip = example.brandAt >= 0 && random() < options.brandDropout ? example.brandAt : -1;
      scores.set(bias);
      for (let j = 0; j < example.rows.length; j++) {
        if (j === skip) continue;
        const offset = example.rows[j] * classes;
        const value = example.values[j] * scale;
        for (let k = 0; k < classes; k++) scores[k] += scaled[offset + k] * value;
      }
      softmax(scores);
      scores[example.label] -= 1; // now the gradient of the loss with respect to each logit
      scale *= 1 - rate * options.l2;
      for (let j = 0; j < example.rows.length; j++) {
        if (j === skip) continue;
        const offset = example.rows[j] * classes;
        const delta = (rate * example.values[j]) / scale;
        for (let k = 0; k < classes; k++) scaled[offset + k] -= delta * scores[k];
      }
      for (let k = 0; k < classes; k++) bias[k] -= rate * scores[k];
      if (scale < 1e-6) {
        for (let i = 0; i < scaled.length; i++) scaled[i] *= scale;
        scale = 1;
      }
    }
  }

  return {
    categories,
    featureWeights: options.featureWeights,
    featureIndex,
    weights: Float32Array.from(scaled, (v) => v * scale),
    bias: Float32Array.from(bias),
    temperature: options.temperature,
    trainedAt: new Date().toISOString(),
    accuracy: options.heldOutAccuracy,
    trainingRows: rows.length,
  };
}

function probabilities(model: CategorizeModel, row: ProductRow, temperature = model.temperature): Float64Array {
  return softmax(logits(model, extractFeatures(row.name, row.brand, model.featureWeights)), temperature);
}

function argmax(values: Float64Array): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}

export interface ClassReport {
  category: string;
  support: number;
  /** Of this category's rows, the share predicted right. */
  recall: number;
  /** Of the rows predicted as this category, the share that were. */
  precision: number;
}

export interface Confusion {
  actual: string;
  predicted: string;
  count: number;
  examples: string[];
}

export interface Evaluation {
  accuracy: number;
  /** Mean negative log-probability of the right category: lower means better-calibrated confidence. */
  logLoss: number;
  /** Expected calibration error over ten confidence bins: how far "80% sure" is from being right 80% of the time. */
  calibrationError: number;
  /** The ten bins behind it (top confidence 0–10 %, …, 90–100 %): rows, mean confidence, accuracy. */
  reliability: { rows: number; confidence: number; accuracy: number }[];
  perClass: ClassReport[];
  confusions: Confusion[];
}

export function evaluate(model: CategorizeModel, rows: readonly ProductRow[]): Evaluation {
  const counts = new Map<string, { support: number; right: number; predicted: number }>(
    model.categories.map((category) => [category, { support: 0, right: 0, predicted: 0 }]),
  );
  const confusions = new Map<string, Confusion>();
  const bins = Array.from({ length: 10 }, () => ({ rows: 0, confidence: 0, right: 0 }));
  let correct = 0;
  let logLoss = 0;
  for (const row of rows) {
    const p = probabilities(model, row);
    const best = argmax(p);
    const predicted = model.categories[best] as string;
    const bin = bins[Math.min(9, Math.floor(p[best] * 10))] as (typeof bins)[number];
    bin.rows++;
    bin.confidence += p[best];
    if (predicted === row.category) bin.right++;
    const actualIndex = model.categories.indexOf(row.category);
    logLoss -= Math.log(Math.max(actualIndex >= 0 ? p[actualIndex] : 0, 1e-12));
    const actual = counts.get(row.category) ?? { support: 0, right: 0, predicted: 0 };
    counts.set(row.category, actual);
    actual.support++;
    const predictedCounts = counts.get(predicted);
    if (predictedCounts) predictedCounts.predicted++;
    if (predicted === row.category) {
      correct++;
      actual.right++;
      continue;
    }
    const key = `${row.category}\u0000${predicted}`;
    const confusion = confusions.get(key) ?? { actual: row.category, predicted, count: 0, examples: [] };
    confusion.count++;
    if (confusion.examples.length < 3) confusion.examples.push(row.brand ? `${row.name} [${row.brand}]` : row.name);
    confusions.set(key, confusion);
  }
  return {
    accuracy: rows.length ? correct / rows.length : 0,
    logLoss: rows.length ? logLoss / rows.length : 0,
    calibrationError: rows.length ? bins.reduce((sum, b) => sum + Math.abs(b.confidence - b.right), 0) / rows.length : 0,
    reliability: bins.map((b) => ({ rows: b.rows, confidence: b.rows ? b.confidence / b.rows : 0, accuracy: b.rows ? b.right / b.rows : 0 })),
    perClass: [...counts.entries()].map(([category, c]) => ({
      category,
      support: c.support,
      recall: c.support ? c.right / c.support : 0,
      precision: c.predicted ? c.right / c.predicted : 0,
    })),
    confusions: [...confusions.values()].sort((a, b) => b.count - a.count || a.actual.localeCompare(b.actual)),
  };
}

/** The temperature that minimises log-loss on held-out rows (a one-parameter calibration). */
export function fitTemperature(model: CategorizeModel, rows: readonly ProductRow[]): number {
  const rawLogits = rows.map((row) => logits(model, extractFeatures(row.name, row.brand, model.featureWeights)));
  const labels = rows.map((row) => model.categories.indexOf(row.category));
  let best = { temperature: 1, loss: Infinity };
  for (let temperature = 0.2; temperature <= 3.0001; temperature += 0.05) {
    let loss = 0;
    rawLogits.forEach((scores, i) => {
      loss -= Math.log(Math.max(softmax(Float64Array.from(scores), temperature)[labels[i] as number], 1e-12));
    });
    if (loss < best.loss) best = { temperature: Number(temperature.toFixed(2)), loss };
  }
  return best.temperature;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function main(): void {
  const started = performance.now();
  const rows = loadDataset();
  const { train, test } = stratifiedSplit(rows, 0.2, DEFAULT_TRAIN_OPTIONS.seed);
  console.log(
    `dataset: ${rows.length} products, ${new Set(rows.map((r) => r.category)).size} categories; split ${train.length} train / ${test.length} held out (stratified, seed ${DEFAULT_TRAIN_OPTIONS.seed})`,
  );
  const overlaps = nearestWordOverlap(test, train);
  console.log(
    `held-out rows sharing >= 80% of their words with a training row: ${overlaps.filter((o) => o >= 0.8).length} (highest overlap ${Math.max(...overlaps).toFixed(2)})`,
  );

  // The temperature is fitted on a validation slice of the training rows, so the held-out rows
  // judge the calibration too. The shipped model learns from the training rows only (as the
  // PyTorch example's does): its held-out figures are those of the very file served, and
  // test/unit/processors/categorize.test.ts re-measures them.
  const validation = stratifiedSplit(train, 0.2, DEFAULT_TRAIN_OPTIONS.seed + 1);
  const temperature = fitTemperature(trainModel(validation.train), validation.test);
  const trained = trainModel(train, { temperature });
  const measured = evaluate(trained, test);
  const json = serializeModel({ ...trained, accuracy: Number(measured.accuracy.toFixed(4)) });
  fs.writeFileSync(MODEL_URL, json);
  const report = evaluate(parseModel(json), test); // the file as served: int16 weights
  const right = Math.round(report.accuracy * test.length);
  console.log(
    `held-out accuracy ${percent(report.accuracy)} (${right}/${test.length}), expected calibration error ${report.calibrationError.toFixed(3)} (10 bins)` +
      `; log-loss ${report.logLoss.toFixed(3)}, softmax temperature ${temperature}`,
  );
  console.log('\nreliability (held out):  confidence    rows  mean confidence  accuracy');
  for (const [i, bin] of report.reliability.entries()) {
    if (bin.rows === 0) continue;
    const range = `${i * 10}-${(i + 1) * 10}%`;
    console.log(`  ${range.padStart(32)}  ${String(bin.rows).padStart(6)}  ${percent(bin.confidence).padStart(15)}  ${percent(bin.accuracy).padStart(8)}`);
  }
  console.log('\nper class:            recall  precision  support');
  for (const c of report.perClass) {
    console.log(`  ${c.category.padEnd(24)} ${percent(c.recall).padStart(6)}  ${percent(c.precision).padStart(9)}  ${String(c.support).padStart(7)}`);
  }
  console.log('\nmost common confusions (actual -> predicted):');
  for (const c of report.confusions.slice(0, 8)) {
    console.log(`  ${c.count} x ${c.actual} -> ${c.predicted}: ${c.examples.join('; ')}`);
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `\nwrote ${path.relative(process.cwd(), fileURLToPath(MODEL_URL))}: ${trained.featureIndex.size} features x ${trained.categories.length} categories, ${(json.length / 1024).toFixed(0)} KiB, ${trained.trainingRows} training rows; trained in ${seconds}s`,
  );
}

const invokedDirectly = process.argv[1] !== undefined && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) main();

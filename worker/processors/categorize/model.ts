/**
 * The categorize model: a multinomial logistic regression over sparse text features of a product
 * name and its brand. Everything here is pure and synchronous; scoring one product costs tens of
 * microseconds, so it runs on the worker's event loop without a thread.
 */

/** How much each feature group counts after its own L2 normalisation (see extractFeatures). */
export interface FeatureWeights {
  words: number;
  bigrams: number;
  chars: number;
  brand: number;
}

export const DEFAULT_FEATURE_WEIGHTS: FeatureWeights = { words: 1, bigrams: 0.6, chars: 1, brand: 1 };

const CHAR_GRAM_MIN = 3;
const CHAR_GRAM_MAX = 5;

export interface CategorizeModel {
  categories: string[];
  featureWeights: FeatureWeights;
  /** Feature name → row of `weights`. */
  featureIndex: Map<string, number>;
  /** Row-major: featureIndex.size rows × categories.length columns. */
  weights: Float32Array;
  bias: Float32Array;
  /** Divides the logits before the softmax; fitted on held-out data so confidences mean something. */
  temperature: number;
  trainedAt: string;
  /** Held-out accuracy measured when this model was trained. */
  accuracy: number;
  trainingRows: number;
}

export interface SparseVector {
  keys: string[];
  values: number[];
}

export interface Prediction {
  category: string;
  confidence: number;
}

/** Lower-case ASCII words: accents folded, punctuation dropped ("Kärcher K4" → ["karcher", "k4"]). */
export function tokenize(text: string): string[] {
  const folded = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
  return folded.match(/[a-z0-9]+/g) ?? [];
}

/**
 * Sizes and model numbers vary endlessly ("256gb", "s23", "225/45r17") but their shape is what
 * generalises: "#gb" says storage, "r#" a tyre rim, "#ml" a bottle.
 */
function numberShape(word: string): string | undefined {
  return /\d/.test(word) ? word.replace(/\d+/g, '#') : undefined;
}

function addCharGrams(word: string, into: Set<string>): void {
  const padded = `<${word}>`;
  for (let n = CHAR_GRAM_MIN; n <= CHAR_GRAM_MAX; n++) {
    for (let start = 0; start + n <= padded.length; start++) into.add(`c:${padded.slice(start, start + n)}`);
  }
}

/**
 * Binary features in four groups, each scaled to unit length and then by its group weight, so a
 * long title does not outvote a short one and the ~100 character n-grams of a name do not drown
 * its handful of words. The brand is one feature with a modest weight: informative (Castrol sells
 * motor oil) but never decisive on its own (Samsung sells phones and washing machines).
 */
export function extractFeatures(name: string, brand: string | undefined, weights: FeatureWeights): SparseVector {
  const words = tokenize(name);
  const wordFeatures = new Set<string>();
  const bigramFeatures = new Set<string>();
  const charFeatures = new Set<string>();
  for (const [i, word] of words.entries()) {
    wordFeatures.add(`w:${word}`);
    const shape = numberShape(word);
    if (shape !== undefined) wordFeatures.add(`s:${shape}`);
    if (i > 0) bigramFeatures.add(`b:${words[i - 1]}_${word}`);
    // Bare numbers carry no letters for n-grams to generalise from; their shape feature is enough.
    if (/[a-z]/.test(word)) addCharGrams(word, charFeatures);
  }
  const brandKey = tokenize(brand ?? '').join('_');
  const groups: [Set<string>, number][] = [
    [wordFeatures, weights.words],
    [bigramFeatures, weights.bigrams],
    [charFeatures, weights.chars],
    [brandKey ? new Set([`brand:${brandKey}`]) : new Set<string>(), weights.brand],
  ];
  const keys: string[] = [];
  const values: number[] = [];
  for (const [group, weight] of groups) {
    if (group.size === 0 || weight === 0) continue;
    const value = weight / Math.sqrt(group.size);
    for (const key of group) {
      keys.push(key);
      values.push(value);
    }
  }
  return { keys, values };
}

/** Raw class scores for a feature vector; unknown features are ignored. */
export function logits(model: CategorizeModel, features: SparseVector): Float64Array {
  const classes = model.categories.length;
  const scores = Float64Array.from(model.bias);
  for (let i = 0; i < features.keys.length; i++) {
    const row = model.featureIndex.get(features.keys[i]);
    if (row === undefined) continue;
    const value = features.values[i];
    const offset = row * classes;
    for (let k = 0; k < classes; k++) scores[k] += model.weights[offset + k] * value;
  }
  return scores;
}

/** Softmax in place, stable against large logits. */
export function softmax(scores: Float64Array, temperature = 1): Float64Array {
  let max = -Infinity;
  for (const score of scores) max = Math.max(max, score / temperature);
  let sum = 0;
  for (let k = 0; k < scores.length; k++) {
    scores[k] = Math.exp(scores[k] / temperature - max);
    sum += scores[k];
  }
  for (let k = 0; k < scores.length; k++) scores[k] /= sum;
  return scores;
}

/** Every category with its probability, most likely first. */
export function predict(model: CategorizeModel, name: string, brand?: string): Prediction[] {
  const probabilities = softmax(logits(model, extractFeatures(name, brand, model.featureWeights)), model.temperature);
  return model.categories.map((category, k) => ({ category, confidence: probabilities[k] })).sort((a, b) => b.confidence - a.confidence);
}

/**
 * On disk the weights are int16 with one scale factor, base64-encoded: a quarter of the size of
 * JSON numbers and well inside the precision that matters for an argmax and two-digit confidences.
 */
interface SerializedModel {
  format: typeof MODEL_FORMAT;
  trained_at: string;
  accuracy: number;
  training_rows: number;
  categories: string[];
  feature_weights: FeatureWeights;
  temperature: number;
  bias: number[];
  features: string[];
  weights: { encoding: 'int16-base64'; scale: number; data: string };
}

const MODEL_FORMAT = 'warren-categorize/1';
const INT16_MAX = 32767;

export function serializeModel(model: CategorizeModel): string {
  const features = [...model.featureIndex.entries()].sort((a, b) => a[1] - b[1]).map(([key]) => key);
  let maxAbs = 0;
  for (const weight of model.weights) maxAbs = Math.max(maxAbs, Math.abs(weight));
  const scale = maxAbs > 0 ? maxAbs / INT16_MAX : 1;
  const quantised = Int16Array.from(model.weights, (weight) => Math.round(weight / scale));
  const serialized: SerializedModel = {
    format: MODEL_FORMAT,
    trained_at: model.trainedAt,
    accuracy: model.accuracy,
    training_rows: model.trainingRows,
    categories: model.categories,
    feature_weights: model.featureWeights,
    temperature: model.temperature,
    bias: Array.from(model.bias, (b) => Number(b.toFixed(6))),
    features,
    weights: { encoding: 'int16-base64', scale, data: Buffer.from(quantised.buffer, quantised.byteOffset, quantised.byteLength).toString('base64') },
  };
  return `${JSON.stringify(serialized)}\n`;
}

export function parseModel(json: string): CategorizeModel {
  const raw = JSON.parse(json) as SerializedModel;
  if (raw.format !== MODEL_FORMAT) throw new Error(`categorize model: expected format ${MODEL_FORMAT}, got ${String(raw.format)}`);
  const bytes = Buffer.from(raw.weights.data, 'base64');
  // Copy into a fresh, aligned buffer: a Buffer from the pool may start at an odd offset.
  const quantised = new Int16Array(new Uint8Array(bytes).buffer);
  const expected = raw.features.length * raw.categories.length;
  if (quantised.length !== expected) throw new Error(`categorize model: ${quantised.length} weights, expected ${expected}`);
  return {
    categories: raw.categories,
    featureWeights: raw.feature_weights,
    featureIndex: new Map(raw.features.map((feature, row) => [feature, row])),
    weights: Float32Array.from(quantised, (q) => q * raw.weights.scale),
    bias: Float32Array.from(raw.bias),
    temperature: raw.temperature,
    trainedAt: raw.trained_at,
    accuracy: raw.accuracy,
    trainingRows: raw.training_rows,
  };
}

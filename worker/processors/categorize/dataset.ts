import fs from 'node:fs';
import { tokenize } from './model.js';

/** The labelled products the categorize model learns from (data/products.csv). */
export interface ProductRow {
  name: string;
  brand: string;
  category: string;
}

export const DATASET_URL = new URL('./data/products.csv', import.meta.url);

/** RFC 4180: fields may be quoted, quotes inside are doubled, quoted fields may hold commas and newlines. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"' && field === '') quoted = true;
    else if (char === ',') {
      record.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += char;
  }
  if (field !== '' || record.length > 0) records.push([...record, field]);
  return records.filter((r) => r.some((value) => value.trim() !== ''));
}

/** Two rows whose names differ only in case, accents or punctuation are one product. */
export function productKey(name: string): string {
  return tokenize(name).join(' ');
}

/** Rows from CSV text with a name,brand,category header; later duplicates of a product are dropped. */
export function parseDataset(text: string): ProductRow[] {
  const [header, ...records] = parseCsv(text);
  const columns = (header ?? []).map((column) => column.trim().toLowerCase());
  const at = (column: string): number => {
    const index = columns.indexOf(column);
    if (index < 0) throw new Error(`dataset: missing column "${column}" (have ${columns.join(', ')})`);
    return index;
  };
  const [nameAt, brandAt, categoryAt] = [at('name'), at('brand'), at('category')];
  const seen = new Set<string>();
  const rows: ProductRow[] = [];
  for (const [line, record] of records.entries()) {
    const row = { name: record[nameAt]?.trim() ?? '', brand: record[brandAt]?.trim() ?? '', category: record[categoryAt]?.trim() ?? '' };
    if (!row.name || !row.category) throw new Error(`dataset: row ${line + 2} needs a name and a category`);
    const key = productKey(row.name);
    if (seen.has(key)) continue;
    seen.add(key);
    rows.push(row);
  }
  return rows;
}

export function loadDataset(url: URL | string = DATASET_URL): ProductRow[] {
  return parseDataset(fs.readFileSync(url, 'utf8'));
}

/** mulberry32: a tiny seeded PRNG, so splits and training order are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const shuffled = [...items];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j] as T, shuffled[i] as T];
  }
  return shuffled;
}

/** Hold out the same fraction of every category, so a small class is tested and trained alike. */
export function stratifiedSplit(rows: readonly ProductRow[], testFraction: number, seed: number): { train: ProductRow[]; test: ProductRow[] } {
  const random = seededRandom(seed);
  const byCategory = new Map<string, ProductRow[]>();
  for (const row of rows) {
    const members = byCategory.get(row.category);
    if (members) members.push(row);
    else byCategory.set(row.category, [row]);
  }
  const train: ProductRow[] = [];
  const test: ProductRow[] = [];
  for (const category of [...byCategory.keys()].sort()) {
    const shuffled = shuffle(byCategory.get(category) ?? [], random);
    const testCount = Math.round(shuffled.length * testFraction);
    test.push(...shuffled.slice(0, testCount));
    train.push(...shuffled.slice(testCount));
  }
  return { train, test };
}

/**
 * For each row, the highest word overlap (Jaccard, 0..1) with any reference row: a held-out row
 * at 0.8 or more is a near-copy of a training row and would flatter the measured accuracy.
 */
export function nearestWordOverlap(rows: readonly ProductRow[], reference: readonly ProductRow[]): number[] {
  const referenceWords = reference.map((row) => new Set(tokenize(row.name)));
  return rows.map((row) => {
    const words = new Set(tokenize(row.name));
    let best = 0;
    for (const other of referenceWords) {
      let shared = 0;
      for (const word of words) if (other.has(word)) shared++;
      best = Math.max(best, shared / (words.size + other.size - shared));
    }
    return best;
  });
}

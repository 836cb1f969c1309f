import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The house's rules, checked on the tree as it is: a worker process loads no database driver and
 * nothing of the gateway; no two files import each other, however indirectly; no file of the
 * code grows past 300 lines. (ESLint enforces the import rules file by file: shared/ through its
 * index, gateway/ and worker/ apart; see eslint.config.js.)
 */
const root = path.resolve(import.meta.dirname, '../..');
const CODE_DIRS = ['gateway', 'worker', 'shared', 'scripts', 'bench'];
const CODE_FILE = /\.(ts|mts|js|mjs|py|css)$/;
const GENERATED_OR_DATA = [/^worker\/processors\/categorize\/model\.json$/];

function filesUnder(dir: string): string[] {
  return (fs.readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
    .filter((file) => !file.includes('node_modules') && !file.includes('__pycache__'));
}

/** The relative imports of a TypeScript or JavaScript file, resolved to files of the tree. */
function importsOf(file: string): string[] {
  const source = fs.readFileSync(path.join(root, file), 'utf8');
  const specifiers = [...source.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specifiers.flatMap((specifier) => {
    const target = path.normalize(path.join(path.dirname(file), specifier));
    for (const candidate of [target.replace(/\.js$/, '.ts'), target]) if (fs.existsSync(path.join(root, candidate))) return [candidate];
    return [];
  });
}

describe('the house', () => {
  it('runs a worker without loading a database driver or anything of the gateway', () => {
    // A bad configuration ends the worker right after its static imports are loaded.
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './test/support/module-trace.mjs', 'worker/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', WORKER_CONCURRENCY: '0' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    const loaded = run.stderr.split('\n').filter((line) => line.startsWith('[module] '));
    expect(loaded.length).toBeGreaterThan(100);
    expect(loaded.filter((line) => /node_modules\/(pg|pg-pool|better-sqlite3)\/|\/gateway\//.test(line))).toEqual([]);
  });

  it('has no import circle', () => {
    const files = CODE_DIRS.flatMap(filesUnder).filter((file) => /\.(ts|mts|js|mjs)$/.test(file));
    const graph = new Map(files.map((file) => [file, importsOf(file)]));
    const circles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        circles.push([...trail.slice(trail.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const next of graph.get(file) ?? []) visit(next, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(circles).toEqual([]);
  });

  it('keeps every file of the code at 300 lines or fewer', () => {
    const long = CODE_DIRS.flatMap(filesUnder)
      .filter((file) => CODE_FILE.test(file) && !GENERATED_OR_DATA.some((pattern) => pattern.test(file)))
      .map((file) => ({ file, lines: fs.readFileSync(path.join(root, file), 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > 300);
    expect(long).toEqual([]);
  });
});

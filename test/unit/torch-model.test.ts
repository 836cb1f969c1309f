import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The example PyTorch processor (worker/python/examples/categorize_torch): its Python unittest
 * suites, run by Debian's python3 with Debian's torch (scripts/install-debian-packages.sh installs
 * python3-torch). Skipped where torch is missing, except in CI, where a missing torch fails.
 */
const root = path.resolve(import.meta.dirname, '../..');
const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

interface UnittestRun {
  code: number | null;
  output: string;
  ran: number;
}

/** `python3 -m unittest <module>` from worker/python/examples, with the SDK's folder on the path too. */
function unittest(module: string, timeoutMs: number): Promise<UnittestRun> {
  return new Promise((resolve) => {
    execFile(
      PYTHON,
      ['-m', 'unittest', '-v', module],
      {
        cwd: path.join(root, 'worker/python/examples'),
        // No __pycache__ left in the tree by a test run.
        env: { PATH: process.env.PATH ?? '', PYTHONPATH: ['..', '.'].join(path.delimiter), PYTHONDONTWRITEBYTECODE: '1' },
        timeout: timeoutMs,
        maxBuffer: 10 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        // unittest reports on stderr; its summary line says how many tests ran.
        const output = `${stdout}${stderr}`;
        const ran = Number(/^Ran (\d+) tests? in/m.exec(output)?.[1] ?? 0);
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, output, ran });
      },
    );
  });
}

describe.skipIf(!hasTorch && !process.env.CI)('the PyTorch categorize example', () => {
  it('has PyTorch for /usr/bin/python3 (python3-torch, from scripts/install-debian-packages.sh)', () => {
    expect(hasTorch, 'python3-torch is missing: run scripts/install-debian-packages.sh').toBe(true);
  });

  it('model: the original example is a smartphone, held-out accuracy holds, batch = single, one load per process, retraining reproduces', async () => {
    const run = await unittest('categorize_torch.test_model', 240_000);
    expect(run.code, run.output).toBe(0);
    // A suite that silently found fewer tests would pass as well: count them.
    expect(run.ran, run.output).toBe(9);
    expect(run.output).toMatch(/\nOK\s*$/);
  }, 300_000);

  it('processor: run and run_batch answer as the Node categorizer does, bad fields fail alone, setup loads once', async () => {
    const run = await unittest('categorize_torch.test_processor', 60_000);
    expect(run.code, run.output).toBe(0);
    expect(run.ran, run.output).toBe(8);
    expect(run.output).toMatch(/\nOK\s*$/);
  }, 90_000);
});

import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitForm, waitForTerminal, type Submitted } from '../support/client.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { PYTHON, pythonSdkAvailable, startPythonWorker } from '../support/python.js';
import { testStack } from '../support/stack.js';

/**
 * An ML team's PyTorch model served end to end: a gateway that knows `categorize-torch` only from
 * its JSON descriptor, and a Python worker started as the README says
 * (`python3 -m warren_worker categorize_torch.processor`), which loads the weights once.
 */
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const stack = testStack('torch-processor', { PROCESSORS_DIR: 'worker/python/examples/processors' }, { extraProcessors: ['categorize-torch'] });
let gateway: Gateway;
let worker: WarrenProcess;

describe.skipIf(!(hasTorch && pythonSdkAvailable) && !process.env.CI)('the PyTorch example processor, through warren', () => {
  beforeAll(async () => {
    gateway = await stack.gateway();
    worker = await startPythonWorker({ ...stack.env, WORKER_PROCESSORS: 'categorize-torch' }, ['categorize_torch.processor'], ['worker/python/examples']);
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await stack.stop();
  });

  it('puts a Galaxy S23 Ultra by Samsung among the smartphones, with its confidence and alternatives', async () => {
    const response = await submitForm(gateway.url, { processor: 'categorize-torch', item_a: 'Galaxy S23 Ultra 256GB', item_b: 'Samsung' });
    expect(response.status).toBe(202);
    const { task_id } = (await response.json()) as Submitted;
    expect(await waitForTerminal(gateway.url, task_id, 30_000)).toMatchObject({ status: 'SUCCESS', attempts: 1 });
    const result = (await (await fetch(`${gateway.url}/task_result/${task_id}`)).json()) as { category: string; confidence: number; alternatives: unknown[] };
    expect(result.category).toBe('Smartphones');
    expect(result.confidence).toBeGreaterThan(0.5);
    expect(result.alternatives.length).toBeGreaterThan(0);
  });

  it('answers many at once from one process that loaded its weights once, and refuses bad fields at the gateway', async () => {
    const titles = [
      ['Sony WH-1000XM5 Wireless Noise Canceling Headphones Black', 'Sony'],
      ['Samsung 65 inch QLED 4K Smart TV', 'Samsung'],
      ['Nike Air Zoom Pegasus running shoes', 'Nike'],
      ['iPhone 15 Pro 128GB Natural Titanium', 'Apple'],
    ];
    const ids = await Promise.all(
      titles.map(
        async ([item_a, item_b]) =>
          ((await (await submitForm(gateway.url, { processor: 'categorize-torch', item_a: item_a!, item_b: item_b! })).json()) as Submitted).task_id,
      ),
    );
    for (const id of ids) expect((await waitForTerminal(gateway.url, id, 30_000)).status).toBe('SUCCESS');
    expect(worker.logs.filter((line) => /model loaded/.test(String(line.msg)))).toHaveLength(1);
    const refused = await submitForm(gateway.url, { processor: 'categorize-torch', item_a: '', item_b: 'x' });
    expect(refused.status).toBe(400);
  });
});

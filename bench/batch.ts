import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { buildTopology, deleteTopology, taskMessage, taskMessages } from '../shared/index.js';
import { TEST_AMQP_URL, uniquePrefix } from '../test/support/broker.js';
import type { WarrenProcess } from '../test/support/processes.js';
import { startPythonWorker } from '../test/support/python.js';

/**
 * Batched against unbatched inference of the PyTorch example (categorize-torch), in the same run:
 * the same model served by the Python SDK twice — once as shipped (`batch`: up to 16 tasks share a
 * forward pass), once as a subclass without `batch` — each from a worker of its own with the same
 * prefetch (16), fed `--tasks` task messages published straight into its queue (what a gateway
 * publishes, without HTTP in the way), timed from the first publish to the last SUCCESS event.
 *   npm run bench -- batch --tasks 2000
 */
const TITLES: [string, string][] = [
  ['Galaxy S23 Ultra 256GB', 'Samsung'],
  ['WH-1000XM5 Wireless Noise Canceling Headphones', 'Sony'],
  ['65 inch QLED 4K Smart TV', 'Samsung'],
  ['Air Zoom Pegasus 40 running shoes', 'Nike'],
  ['Robot vacuum cleaner with mop', 'Roborock'],
  ['Stainless steel 12-cup coffee maker', 'Cuisinart'],
];

const UNBATCHED_MODULE = `from categorize_torch.processor import CategorizeTorch


class CategorizeTorchSingle(CategorizeTorch):
    """The same model, one task per forward pass (no batch), as many in flight as the batched one's batch."""

    name = "categorize-torch-single"
    concurrency = 16
    batch = None
`;

export async function runBatchBench({ tasks }: { tasks: number }): Promise<Record<string, unknown>> {
  const prefix = uniquePrefix();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-'));
  const moduleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-module-'));
  fs.writeFileSync(path.join(moduleDir, 'categorize_torch_single.py'), UNBATCHED_MODULE);
  const env = { AMQP_URL: TEST_AMQP_URL, AMQP_PREFIX: prefix, DATA_DIR: dataDir, LOG_LEVEL: 'info', WORKER_CONCURRENCY: '16' };
  const paths = ['worker/python/examples', moduleDir];
  const workers: WarrenProcess[] = [];
  const connection = await amqp.connect(TEST_AMQP_URL);
  try {
    const results: Record<string, unknown> = {};
    for (const [mode, processor, module] of [
      ['batched', 'categorize-torch', 'categorize_torch.processor'],
      ['unbatched', 'categorize-torch-single', 'categorize_torch_single'],
    ] as const) {
      const worker = await startPythonWorker({ ...env, WORKER_PROCESSORS: processor }, [module], paths);
      workers.push(worker);
      results[mode] = await feed(connection, prefix, processor, tasks);
      await worker.stop();
    }
    const batched = results.batched as { tasks_per_second: number };
    const unbatched = results.unbatched as { tasks_per_second: number };
    return { bench: 'batch', tasks, ...results, speedup: Math.round((batched.tasks_per_second / unbatched.tasks_per_second) * 100) / 100 };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    const channel = await connection.createChannel();
    await deleteTopology(
      channel,
      buildTopology({
        prefix,
        processors: ['categorize-torch', 'categorize-torch-single'],
        taskQueueMaxLength: 1,
        deliveryLimit: 1,
        retryDelaysMs: [1000, 10_000, 60_000, 300_000],
      }),
    ).catch(() => {});
    await connection.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(moduleDir, { recursive: true, force: true });
  }
}

/** Publish `tasks` tasks for `processor` with confirms and time them until every one is SUCCESS. */
async function feed(connection: amqp.ChannelModel, prefix: string, processor: string, tasks: number): Promise<Record<string, unknown>> {
  const listen = await connection.createChannel();
  const { queue } = await listen.assertQueue('', { exclusive: true, autoDelete: true });
  await listen.bindQueue(queue, `${prefix}.events`, `task.*.${processor}`);
  let succeeded = 0;
  let failed = 0;
  const done = new Promise<void>((resolve) => {
    void listen.consume(
      queue,
      (message) => {
        if (!message) return;
        const event = JSON.parse(message.content.toString('utf8')) as { status: string };
        if (event.status === 'SUCCESS') succeeded += 1;
        if (event.status === 'FAILURE') failed += 1;
        if (succeeded + failed === tasks) resolve();
      },
      { noAck: true },
    );
  });
  const publisher = await connection.createConfirmChannel();
  const began = performance.now();
  for (let n = 0; n < tasks; n += 1) {
    const [item_a, item_b] = TITLES[n % TITLES.length]!;
    const message = taskMessage({
      task_id: randomUUID(),
      processor,
      submitted_at: new Date().toISOString(),
      attempt: 1,
      input: { fields: { item_a, item_b }, files: [] },
    });
    publisher.publish(`${prefix}.tasks`, processor, taskMessages.encode(message), {
      persistent: true,
      messageId: message.task_id,
      type: message.type,
      contentType: 'application/json',
    });
    if (n % 200 === 199) await publisher.waitForConfirms();
  }
  await publisher.waitForConfirms();
  await done;
  const seconds = (performance.now() - began) / 1000;
  await listen.close();
  await publisher.close();
  return { tasks_per_second: Math.round(tasks / seconds), seconds: Math.round(seconds * 100) / 100, failed };
}

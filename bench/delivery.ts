import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deletePrefix, uniquePrefix } from '../test/support/broker.js';
import { startGateway, startWorker, type WarrenProcess } from '../test/support/processes.js';
import { startWebhookReceiver } from '../test/support/webhook-receiver.js';
import { percentiles } from './http.js';
import { startTogether } from './support/start.js';
import { warrenBenchEnv } from './targets.js';

/**
 * Delivery latency: how long after a task is recorded SUCCESS its signed webhook reaches the
 * client's receiver (on 127.0.0.1, allowlisted). One client submits echo tasks one after another
 * with `Prefer: wait=10`; the receiver notes when each webhook arrives.
 *   npm run bench -- delivery --tasks 300
 */
export async function runDeliveryBench({ tasks }: { tasks: number }): Promise<Record<string, unknown>> {
  const prefix = uniquePrefix();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-bench-'));
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const env = warrenBenchEnv(prefix, dataDir, {
    WEBHOOK_SECRET: secret,
    WEBHOOK_ALLOWLIST: '127.0.0.1',
  });
  const arrivals = new Map<string, number>();
  const receiver = await startWebhookReceiver(secret, (request) => {
    arrivals.set(String(request.json.data.task_id), Date.now());
    return { status: 204 };
  });
  const processes: WarrenProcess[] = [];
  try {
    const [, gateway] = await startTogether(processes, startWorker(env), startGateway(env));
    const finished = new Map<string, number>();
    let errors = 0;
    for (let n = 0; n < tasks + 20; n += 1) {
      const response = await fetch(`${gateway.url}/uploader`, {
        method: 'POST',
        body: new URLSearchParams({ item_a: `task-${n}`, webhook_url: receiver.url('/hook') }),
        headers: { prefer: 'wait=10', accept: 'application/json' },
      });
      const body = (await response.json()) as { task_id?: string; status?: string; finished_at?: string };
      if (response.status !== 200 || body.status !== 'SUCCESS') errors += 1;
      else if (n >= 20) finished.set(body.task_id!, Date.parse(body.finished_at!)); // the first 20 warm up
    }
    await receiver.waitFor(() => [...finished.keys()].every((id) => arrivals.has(id)), 30_000).catch(() => {});
    const latencies = [...finished].filter(([id]) => arrivals.has(id)).map(([id, at]) => arrivals.get(id)! - at);
    return { bench: 'delivery', tasks, errors, undelivered: finished.size - latencies.length, success_to_webhook_ms: percentiles(latencies) };
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await receiver.close();
    await deletePrefix(prefix);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

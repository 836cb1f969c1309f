import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusDocument } from '../support/client.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/** A real worker takes no more of a processor's tasks at once than PROCESSOR_CONCURRENCY (or the processor) says. */
const SECRETS = { alice: 'alice-0123456789abcdef00' };
const stack = testStack('decoder-memory', { API_KEYS: `alice:${SECRETS.alice}`, WORKER_PROCESSORS: 'document,echo', OCR_THREADS: '1', PROCESSOR_CONCURRENCY: 'document:4,echo:2' });
let worker: WarrenProcess;
let gateway: Gateway;

beforeAll(async () => {
  [worker, gateway] = await Promise.all([stack.worker(), stack.gateway()]);
  await worker.waitForLog((line) => line.msg === 'worker consuming', 60_000);
}, 90_000);

afterAll(() => stack.stop(), 60_000);

type Who = keyof typeof SECRETS;
const bearer = (who: Who): Record<string, string> => ({ authorization: `Bearer ${SECRETS[who]}` });

async function finished(who: Who, id: string): Promise<StatusDocument> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const response = await fetch(`${gateway.url}/task_status/${id}`, { headers: { ...bearer(who), prefer: 'wait=10' } });
    const status = (await response.json()) as StatusDocument;
    if (['SUCCESS', 'FAILURE', 'REVOKED'].includes(status.status)) return status;
  }
  throw new Error(`task ${id} did not finish`);
}

describe('per-processor concurrency on a real worker', () => {
  it("takes no more of a processor's tasks at once than its concurrency", async () => {
    expect(worker.logs.find((line) => line.msg === 'worker consuming')).toMatchObject({ concurrency: 16, prefetch: { document: 4, echo: 2 } });
    const ids = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const response = await fetch(`${gateway.url}/uploader`, {
          method: 'POST',
          body: JSON.stringify({ processor: 'echo', sleep_ms: 500 }),
          headers: { 'content-type': 'application/json', ...bearer('alice') },
        });
        return ((await response.json()) as { task_id: string }).task_id;
      }),
    );
    const started = (await Promise.all(ids.map((id) => finished('alice', id)))).map((status) => Date.parse(String(status.started_at))).sort((a, b) => a - b);
    // Two at once: the third starts only when one of the first two has slept its 500 ms.
    expect(started[1]! - started[0]!).toBeLessThan(400);
    expect(started[2]! - started[0]!).toBeGreaterThanOrEqual(450);
  }, 30_000);
});

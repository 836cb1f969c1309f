import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics, sample } from '../support/metrics.js';
import { runPollingClients } from '../support/polling-clients.js';
import { createTestSchema, type TestSchema } from '../support/postgres.js';
import type { Gateway } from '../support/processes.js';
import { testStack, type TestStack } from '../support/stack.js';

/**
 * Several gateways on one PostgreSQL store (issue 6): three gateway processes and one worker,
 * the store in a schema of this run's own. The password is ignored by the server here (trust
 * auth) but must never reach a log line.
 */
const PASSWORD = 'pw-that-must-stay-secret';
let schema: TestSchema;
let stack: TestStack;
let gateways: Gateway[];

beforeAll(async () => {
  schema = await createTestSchema(`postgres://postgres:${PASSWORD}@127.0.0.1:5432/test`);
  stack = testStack('pg', { STORE_URL: schema.url });
  // All three migrate the fresh schema at once, as gateways started together would.
  const [, ...started] = await Promise.all([stack.worker(), stack.gateway(), stack.gateway(), stack.gateway()]);
  gateways = started;
});

afterAll(async () => {
  await stack?.stop();
  await schema?.drop();
});

async function finishedCount(): Promise<number> {
  let total = 0;
  for (const gateway of gateways) {
    const text = await (await fetch(new URL('/metrics', gateway.url))).text();
    total += sample(parseMetrics(text), 'warren_tasks_finished_total', { processor: 'echo', status: 'SUCCESS' }) ?? 0;
  }
  return total;
}

describe('three gateways on one PostgreSQL store', () => {
  it('keep every status consistent and every result retrievable with 32 clients polling all three', async () => {
    const clients = 32;
    const tasksPerClient = 16;
    const { problems, finished } = await runPollingClients(
      gateways.map((g) => g.url),
      clients,
      tasksPerClient,
    );
    expect(problems).toEqual([]);
    expect(finished).toBe(clients * tasksPerClient);

    // Competing recorders: each task was made terminal by exactly one of them. A counter bumps just
    // after its recorder's commit, so wait (bounded) for the last ones.
    const deadline = Date.now() + 10_000;
    while ((await finishedCount()) < finished && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await finishedCount()).toBe(finished);
  }, 120_000);

  it('never write the store password to a log line, and say which store they opened', () => {
    for (const gateway of gateways) {
      expect(JSON.stringify(gateway.logs)).not.toContain(PASSWORD);
      expect(gateway.logs.find((line) => line.msg === 'store ready')).toMatchObject({
        store: expect.stringMatching(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/test\?options=/),
      });
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitForm, type StatusDocument, type Submitted } from '../support/client.js';
import { parseMetrics, sample } from '../support/metrics.js';
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

/** Within an attempt a task only moves forward: PENDING, then STARTED or RETRY, then terminal. */
const RANK: Record<string, number> = { PENDING: 0, STARTED: 1, RETRY: 1, SUCCESS: 2, FAILURE: 2, REVOKED: 2 };

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
    const urls = gateways.map((g) => g.url);
    const problems: string[] = [];
    let finished = 0;

    await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        for (let n = 0; n < tasksPerClient; n += 1) {
          const item = `client-${client}-task-${n}`;
          const response = await submitForm(urls[(client + n) % 3]!, { item_a: item, item_b: String(n) });
          if (response.status !== 202) {
            problems.push(`submit ${item}: ${response.status}`);
            continue;
          }
          const { task_id } = (await response.json()) as Submitted;
          let seen: StatusDocument | undefined;
          const deadline = Date.now() + 30_000;
          for (let poll = 0; !seen || RANK[seen.status] !== 2; poll += 1) {
            const gateway = urls[(client + n + poll) % 3]!;
            const answer = await fetch(`${gateway}/task_status/${task_id}`);
            if (answer.status !== 200) {
              problems.push(`${item}: task_status from ${gateway} answered ${answer.status}`);
              break;
            }
            const status = (await answer.json()) as StatusDocument;
            if (seen && (RANK[status.status]! < RANK[seen.status]! || status.attempts < seen.attempts)) {
              problems.push(`${item}: went back from ${seen.status}/${seen.attempts} to ${status.status}/${status.attempts} at ${gateway}`);
            }
            seen = status;
            if (Date.now() > deadline) {
              problems.push(`${item}: still ${status.status} after 30 s`);
              break;
            }
            if (RANK[status.status] !== 2) await new Promise((resolve) => setTimeout(resolve, 5));
          }
          if (seen?.status !== 'SUCCESS') problems.push(`${item}: ended ${seen?.status}`);
          for (const gateway of urls) {
            const result = (await (await fetch(`${gateway}/task_result/${task_id}`)).json()) as { fields?: { item_a?: string } };
            if (result.fields?.item_a !== item) problems.push(`${item}: result from ${gateway} was ${JSON.stringify(result)}`);
          }
          finished += 1;
        }
      }),
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
      expect(gateway.logs.find((line) => line.msg === 'store ready')).toMatchObject({ store: expect.stringMatching(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/test\?options=/) });
    }
  });
});

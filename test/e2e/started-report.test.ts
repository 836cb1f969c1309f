import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_AMQP_URL } from '../support/broker.js';
import { submitForm, waitForTerminal, type Submitted } from '../support/client.js';
import { testStack } from '../support/stack.js';
import type { Gateway } from '../support/processes.js';

/**
 * STARTED_REPORT_DELAY_MS: the Node worker reports STARTED only for a run that lasts. A fast task
 * is one event (its final one) on the broker, a slow one STARTED then its final event, and
 * `0` restores a STARTED for every task.
 */
const stack = testStack('started-report', { STARTED_REPORT_DELAY_MS: '100' });
const eager = testStack('started-report-eager', { STARTED_REPORT_DELAY_MS: '0' });
let gateway: Gateway;
let eagerGateway: Gateway;
let tap: amqp.ChannelModel | undefined;
const statuses = new Map<string, string[]>();

async function run(url: string, fields: Record<string, string>): Promise<string[]> {
  const response = await submitForm(url, fields);
  expect(response.status).toBe(202);
  const { task_id } = (await response.json()) as Submitted;
  expect((await waitForTerminal(url, task_id)).status).toBe('SUCCESS');
  // The tap's queue is fed by the same exchange as the recorder's: give it a moment to catch up.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return statuses.get(task_id) ?? [];
}

beforeAll(async () => {
  [gateway, eagerGateway] = await Promise.all([stack.gateway(), eager.gateway(), stack.worker(), eager.worker()]).then(([a, b]) => [a, b]);
  tap = await amqp.connect(TEST_AMQP_URL);
  const channel = await tap.createChannel();
  for (const prefix of [stack.prefix, eager.prefix]) {
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, `${prefix}.events`, 'task.#');
    await channel.consume(
      queue,
      (message) => {
        if (!message) return;
        const event = JSON.parse(message.content.toString()) as { task_id: string; status: string; progress?: number };
        const label = event.progress === undefined ? event.status : `${event.status} ${event.progress}`;
        statuses.set(event.task_id, [...(statuses.get(event.task_id) ?? []), label]);
      },
      { noAck: true },
    );
  }
});

afterAll(async () => {
  await tap?.close();
  await Promise.all([stack.stop(), eager.stop()]);
});

describe('the STARTED report', () => {
  it('is left out for a task done sooner than the delay: one event, the final one', async () => {
    expect(await run(gateway.url, { item_a: 'fast' })).toEqual(['SUCCESS']);
  });

  it('goes out for a run that lasts longer, before its progress (held until then) and the final event', async () => {
    // echo reports progress 0 as it starts sleeping, before the delay is over.
    expect(await run(gateway.url, { item_a: 'slow', sleep_ms: '400' })).toEqual(['STARTED', 'STARTED 0', 'SUCCESS']);
  });

  it('goes out for every task with STARTED_REPORT_DELAY_MS=0', async () => {
    expect(await run(eagerGateway.url, { item_a: 'fast' })).toEqual(['STARTED', 'SUCCESS']);
  });
});

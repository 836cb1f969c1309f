import fs from 'node:fs';
import path from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskEvent, taskEvents, taskMessages, eventRoutingKey } from '../../shared/index.js';
import { TEST_AMQP_URL } from '../support/broker.js';
import { submitForm, waitForTerminal, type Submitted } from '../support/client.js';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/**
 * A processor described by data alone (`shout.json` in PROCESSORS_DIR), whose code the gateway
 * never loads: it validates submissions to it, lists it, and says honestly that nobody serves it
 * until a worker does — here a worker of a few lines that speaks the contract itself, as one in
 * any language may (consume its queue, publish STARTED and SUCCESS with confirms, ack after).
 */
const stack = testStack('descriptors', { WORKER_PROCESSORS: 'echo' }, { extraProcessors: ['shout'] });
const processorsDir = path.join(stack.dataDir, 'processors');
let gateway: Gateway;

beforeAll(async () => {
  fs.mkdirSync(processorsDir);
  fs.writeFileSync(
    path.join(processorsDir, 'shout.json'),
    JSON.stringify({
      name: 'shout',
      version: '1.0.0',
      description: 'Upper-cases a text (served by a worker outside Node).',
      fields: {
        type: 'object',
        properties: { text: { type: 'string', minLength: 1, maxLength: 100 }, times: { type: 'integer', minimum: 1, maximum: 3, default: 1 } },
        required: ['text'],
      },
    }),
  );
  // A Node worker beside it serves echo and has nothing to run for a JSON descriptor.
  [gateway] = await Promise.all([stack.gateway({ PROCESSORS_DIR: processorsDir }), stack.worker({ PROCESSORS_DIR: processorsDir })]);
});
afterAll(() => stack.stop());

interface Listed {
  name: string;
  workers: number | null;
  fields: { properties: Record<string, unknown> };
}
const listed = async (): Promise<Listed[]> => ((await (await fetch(`${gateway.url}/processors`)).json()) as { processors: Listed[] }).processors;

/** A worker that speaks warren's contract with nothing but amqplib, as a worker in any language would. */
async function contractWorker(queue: string): Promise<() => Promise<void>> {
  const connection = await amqp.connect(TEST_AMQP_URL);
  const channel = await connection.createConfirmChannel();
  await channel.prefetch(1);
  const publish = (event: ReturnType<typeof taskEvent>): Promise<void> =>
    new Promise((resolve, reject) =>
      channel.publish(
        `${stack.prefix}.events`,
        eventRoutingKey(event.status, event.processor),
        taskEvents.encode(event),
        { persistent: true, correlationId: event.task_id, type: 'warren.task.event', messageId: event.event_id },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  await channel.consume(queue, (message) => {
    if (!message) return;
    const task = taskMessages.decode(message.content);
    void (async () => {
      await publish(taskEvent(task, { status: 'STARTED', attempt: task.attempt }));
      const text = String(task.input.fields.text);
      await publish(
        taskEvent(task, { status: 'SUCCESS', attempt: task.attempt, result: { shouted: text.toUpperCase().repeat(Number(task.input.fields.times ?? 1)) } }),
      );
      channel.ack(message);
    })();
  });
  return () => connection.close();
}

describe('a processor described by JSON', () => {
  it('is listed with its schema, and as served by no worker', async () => {
    const shout = (await listed()).find((p) => p.name === 'shout');
    expect(shout).toMatchObject({ workers: 0, fields: { properties: { text: { type: 'string', maxLength: 100 } } } });
    expect((await listed()).find((p) => p.name === 'echo')!.workers).toBe(1);
    expect(await (await fetch(`${gateway.url}/upload?processor=shout`)).text()).toContain('name="text"');
  });

  it('validates submissions to it like a built-in', async () => {
    const refused = await submitForm(gateway.url, { processor: 'shout', text: 'hi', times: '7' });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: { code: 'invalid_fields' } });
  });

  it('says a task waits for a worker while none serves it, and runs once one does', async () => {
    const response = await submitForm(gateway.url, { processor: 'shout', text: 'hello', times: '2' });
    expect(response.status).toBe(202);
    const { task_id } = (await response.json()) as Submitted;
    expect(await (await fetch(`${gateway.url}/task_status/${task_id}`)).json()).toMatchObject({ status: 'PENDING', workers: 0 });

    const stop = await contractWorker(`${stack.prefix}.tasks.shout`);
    try {
      const final = await waitForTerminal(gateway.url, task_id);
      expect(final.status).toBe('SUCCESS');
      expect(final).not.toHaveProperty('workers');
      expect(await (await fetch(`${gateway.url}/task_result/${task_id}`)).json()).toEqual({ shouted: 'HELLOHELLO' });
      // The count is kept for two seconds: then it says one worker serves it.
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      expect((await listed()).find((p) => p.name === 'shout')!.workers).toBe(1);
    } finally {
      await stop();
    }
  });
});

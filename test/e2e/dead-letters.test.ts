import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { publishRaw, TEST_AMQP_URL } from '../support/broker.js';
import { submitForm, waitForTerminal, type Submitted } from '../support/client.js';
import { testStack } from '../support/stack.js';

/**
 * Nothing that reaches the dead letters leaves a task unfinished: a task message a foreign consumer
 * rejected, task events the results queue gave up on, a malformed message naming a task, and —
 * the last line — a task whose messages vanished altogether (a purged queue) is failed once its
 * deadline has passed.
 */
const stacks: ReturnType<typeof testStack>[] = [];
const stackOf = (name: string, env: Record<string, string> = {}): ReturnType<typeof testStack> => {
  const stack = testStack(name, env);
  stacks.push(stack);
  return stack;
};
afterAll(async () => {
  await Promise.all(stacks.map((stack) => stack.stop()));
});

/** A consumer of the shared broker's `queue` that settles each message with `settle`, until closed. */
async function rawConsumer(
  queue: string,
  settle: (channel: amqp.Channel, message: amqp.ConsumeMessage) => void,
): Promise<{ seen: () => number; close: () => Promise<void> }> {
  const connection = await amqp.connect(TEST_AMQP_URL);
  const channel = await connection.createChannel();
  let seen = 0;
  await channel.consume(queue, (message) => {
    if (!message) return;
    seen += 1;
    settle(channel, message);
  });
  return { seen: () => seen, close: () => connection.close() };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('dead letters', () => {
  it('records FAILURE dead_lettered_rejected for a task message a consumer rejected', async () => {
    const stack = stackOf('dl-rejected');
    const gateway = await stack.gateway();
    const { task_id } = (await (await submitForm(gateway.url, { item_a: 'rejected' })).json()) as Submitted;
    // A foreign worker that refuses what it cannot handle, without requeueing it (as Celery does).
    const foreign = await rawConsumer(`${stack.prefix}.tasks.echo`, (channel, message) => channel.reject(message, false));
    try {
      const final = await waitForTerminal(gateway.url, task_id);
      expect(final).toMatchObject({ status: 'FAILURE', error: { code: 'dead_lettered_rejected' } });
    } finally {
      await foreign.close();
    }
  });

  it('applies task events the results queue dead-lettered, so the task ends SUCCESS with its result', async () => {
    const stack = stackOf('dl-events', { DELIVERY_LIMIT: '2' });
    let gateway = await stack.gateway();
    const { task_id } = (await (await submitForm(gateway.url, { item_a: 'kept' })).json()) as Submitted;
    await gateway.stop();
    // With no recorder, a consumer that keeps handing the events back spends the results queue's
    // delivery limit, and the broker dead-letters them — as a store that kept failing once did.
    const refuser = await rawConsumer(`${stack.prefix}.results`, (channel, message) => channel.nack(message, false, true));
    const worker = await stack.worker();
    // One event (SUCCESS: echo is done before STARTED_REPORT_DELAY_MS), delivered and refused 1 + DELIVERY_LIMIT times.
    await until(() => refuser.seen() >= 3, 15_000, 'the event to be refused past the delivery limit');
    await refuser.close();
    await worker.stop();

    gateway = await stack.gateway();
    const final = await waitForTerminal(gateway.url, task_id);
    expect(final.status).toBe('SUCCESS');
    expect(await (await fetch(`${gateway.url}/task_result/${task_id}`)).json()).toMatchObject({ fields: { item_a: 'kept' } });
  });

  it('records FAILURE for a task whose message arrives malformed', async () => {
    const stack = stackOf('dl-malformed');
    const gateway = await stack.gateway();
    const { task_id } = (await (await submitForm(gateway.url, { item_a: 'garbled' })).json()) as Submitted;
    const purge = await amqp.connect(TEST_AMQP_URL);
    await (await purge.createChannel()).purgeQueue(`${stack.prefix}.tasks.echo`);
    await purge.close();
    // What a buggy producer might send in its place: the task's id, not much else.
    await publishRaw(`${stack.prefix}.tasks`, 'echo', Buffer.from(JSON.stringify({ type: 'warren.task', version: 1, task_id, processor: 'echo' })));
    await stack.worker();
    const final = await waitForTerminal(gateway.url, task_id);
    expect(final).toMatchObject({ status: 'FAILURE', error: { code: 'dead_lettered_malformed' } });
  });

  it('fails a task as stalled once nothing can finish it any more: its queue was purged', async () => {
    const stack = stackOf('dl-stalled', { TASK_QUEUE_TTL_MS: '1500', STALL_GRACE_MS: '1000' });
    const gateway = await stack.gateway();
    const { task_id } = (await (await submitForm(gateway.url, { item_a: 'purged' })).json()) as Submitted;
    const purge = await amqp.connect(TEST_AMQP_URL);
    expect((await (await purge.createChannel()).purgeQueue(`${stack.prefix}.tasks.echo`)).messageCount).toBe(1);
    await purge.close();
    expect(((await (await fetch(`${gateway.url}/task_status/${task_id}`)).json()) as { status: string }).status).toBe('PENDING');
    const final = await waitForTerminal(gateway.url, task_id, 10_000);
    expect(final).toMatchObject({ status: 'FAILURE', error: { code: 'stalled' } });
    const metrics = await (await fetch(gateway.url.replace('/prediction', '/metrics'))).text();
    expect(metrics).toMatch(/^warren_tasks_stalled_total\{processor="echo"\} 1$/m);
  });
});

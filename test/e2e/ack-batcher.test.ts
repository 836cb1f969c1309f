import amqp from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ackBatcher, type AckBatcher } from '../../shared/ack-batcher.js';
import { TEST_AMQP_URL, uniquePrefix } from '../support/broker.js';

/**
 * The consumer's acks, coalesced per event-loop turn, against the real broker: what the broker
 * holds afterwards (nothing acked comes back, nothing held is lost) and how many ack frames went out.
 */
describe('ackBatcher on a real channel', () => {
  let connection: amqp.ChannelModel;
  let channel: amqp.Channel;
  let queue: string;
  let frames: { tag: number; multiple: boolean }[];
  let acks: AckBatcher;
  let delivered: amqp.ConsumeMessage[];

  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
  const waitFor = async (count: number): Promise<void> => {
    for (let i = 0; i < 200 && delivered.length < count; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(delivered).toHaveLength(count);
  };
  /** What is left in the queue once the consumer's channel is gone (unacked messages return to it). */
  const leftInQueue = async (): Promise<number> => {
    await channel.close();
    const other = await connection.createChannel();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { messageCount } = await other.checkQueue(queue);
    await other.close();
    return messageCount;
  };

  beforeEach(async () => {
    connection = await amqp.connect(TEST_AMQP_URL);
    channel = await connection.createChannel();
    queue = `${uniquePrefix()}.acks`;
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    for (let i = 0; i < 20; i += 1) channel.sendToQueue(queue, Buffer.from(String(i)));
    frames = [];
    const counting = {
      ack: (message: amqp.Message, multiple?: boolean) => {
        frames.push({ tag: message.fields.deliveryTag, multiple: multiple ?? false });
        channel.ack(message, multiple);
      },
      nack: (message: amqp.Message, multiple?: boolean, requeue?: boolean) => channel.nack(message, multiple, requeue),
    };
    acks = ackBatcher(counting, (err) => {
      throw err;
    });
    delivered = [];
    await channel.prefetch(20);
    await channel.consume(queue, (message) => {
      if (!message) return;
      acks.delivered(message);
      delivered.push(message);
    });
  });

  afterEach(async () => {
    const cleanup = await connection.createChannel();
    await cleanup.deleteQueue(queue);
    await connection.close();
  });

  it('settles a whole batch acked in one turn with one multiple ack', async () => {
    await waitFor(20);
    for (const message of delivered) acks.ack(message);
    await turn();
    expect(frames).toEqual([{ tag: delivered[19]!.fields.deliveryTag, multiple: true }]);
    expect(await leftInQueue()).toBe(0);
  });

  it('never reaches past a message still held: the rest go one by one, the held one stays with the broker', async () => {
    await waitFor(20);
    const held = delivered[5]!;
    for (const message of delivered) if (message !== held) acks.ack(message);
    await turn();
    expect(frames[0]).toEqual({ tag: delivered[4]!.fields.deliveryTag, multiple: true });
    expect(frames.slice(1).every((frame) => !frame.multiple)).toBe(true);
    expect(frames).toHaveLength(1 + 14);
    expect(await leftInQueue()).toBe(1);
  });

  it('hands back a nacked message and still settles the acks around it', async () => {
    await waitFor(20);
    delivered.slice(0, 10).forEach((message) => acks.ack(message));
    acks.nack(delivered[10]!, true);
    delivered.slice(11).forEach((message) => acks.ack(message));
    await turn();
    // The first ten before the nack, then the rest (the nacked tag is no longer unsettled): two frames.
    expect(frames).toEqual([
      { tag: delivered[9]!.fields.deliveryTag, multiple: true },
      { tag: delivered[19]!.fields.deliveryTag, multiple: true },
    ]);
    // The requeued message comes straight back to this consumer; ack it too.
    await waitFor(21);
    acks.ack(delivered[20]!);
    await turn();
    expect(await leftInQueue()).toBe(0);
  });
});

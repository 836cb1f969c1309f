import amqp from 'amqplib';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceFrameWrites } from '../../shared/amqp-write-coalescing.js';
import { TEST_AMQP_URL } from '../support/broker.js';

/**
 * shared/amqp-write-coalescing.ts against the shared broker: frames queued in one turn leave in
 * one writev instead of one write each, and arrive whole and in order.
 */
const opened: amqp.ChannelModel[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((model) => model.close().catch(() => {})));
});

/** Publishes `count` messages in one turn on a confirm channel; the socket calls it took and what came back. */
async function publishInOneTurn(coalesce: boolean, count: number): Promise<{ socketCalls: number; received: string[] }> {
  const model = await amqp.connect(TEST_AMQP_URL);
  opened.push(model);
  if (coalesce) expect(coalesceFrameWrites(model)).toBe(true);
  const socket = (model as unknown as { connection: { stream: Socket } }).connection.stream;
  const channel = await model.createConfirmChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true });
  let socketCalls = 0;
  for (const method of ['_write', '_writev'] as const) {
    const original = socket[method]!.bind(socket) as (...args: unknown[]) => void;
    (socket as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      socketCalls += 1;
      original(...args);
    };
  }
  const bodies = Array.from({ length: count }, (_, i) => `message ${i}`);
  await Promise.all(
    bodies.map((body) => new Promise<void>((resolve, reject) => channel.sendToQueue(queue, Buffer.from(body), {}, (err) => (err ? reject(err) : resolve())))),
  );
  const calls = socketCalls;
  const received: string[] = [];
  for (let message; (message = await channel.get(queue, { noAck: true }));) received.push(message.content.toString());
  return { socketCalls: calls, received };
}

describe('coalesced AMQP frame writes', () => {
  it('send what one turn queued in one socket call, every message confirmed and in order', async () => {
    const plain = await publishInOneTurn(false, 50);
    const coalesced = await publishInOneTurn(true, 50);
    // Without it: a socket call per publish; with it: the turn's frames together.
    expect(plain.socketCalls).toBeGreaterThanOrEqual(50);
    expect(coalesced.socketCalls).toBeLessThanOrEqual(2);
    const expected = Array.from({ length: 50 }, (_, i) => `message ${i}`);
    expect(plain.received).toEqual(expected);
    expect(coalesced.received).toEqual(expected);
  });

  it('leaves alone what is not an amqplib connection, and a connection already coalesced', async () => {
    expect(coalesceFrameWrites(undefined)).toBe(false);
    expect(coalesceFrameWrites({ connection: {} })).toBe(false);
    const model = await amqp.connect(TEST_AMQP_URL);
    opened.push(model);
    expect(coalesceFrameWrites(model)).toBe(true);
    expect(coalesceFrameWrites(model)).toBe(false);
  });
});

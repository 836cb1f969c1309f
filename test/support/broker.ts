import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { BUILTIN_DESCRIPTORS, buildTopology, deleteTopology, loadConfig } from '../../shared/index.js';

/** The shared broker on this machine; tests isolate themselves by a unique prefix. */
export const TEST_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

export function uniquePrefix(): string {
  return `test-${randomUUID().slice(0, 8)}`;
}

/** The retry tiers of the default configuration; deleting a tier that was never declared is harmless. */
const DEFAULT_RETRY_DELAYS_MS = loadConfig({}).retryDelaysMs;
const DEFAULT_DELIVERY_RETRY_DELAYS_MS = loadConfig({}).deliveryRetryDelaysMs;

/** Delete every exchange and queue a prefix declared, so a test run leaves the broker as it found it. */
export async function deletePrefix(
  prefix: string,
  processors: readonly string[] = BUILTIN_DESCRIPTORS.map((p) => p.name),
  retryDelaysMs: readonly number[] = [],
  deliveryRetryDelaysMs: readonly number[] = [],
): Promise<void> {
  const connection = await amqp.connect(TEST_AMQP_URL);
  try {
    const channel = await connection.createChannel();
    const topology = buildTopology({
      prefix,
      processors,
      taskQueueMaxLength: 1,
      deliveryLimit: 1,
      retryDelaysMs: [...DEFAULT_RETRY_DELAYS_MS, ...retryDelaysMs],
      deliveryRetryDelaysMs: [...DEFAULT_DELIVERY_RETRY_DELAYS_MS, ...deliveryRetryDelaysMs],
    });
    await deleteTopology(channel, topology);
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Publish raw bytes (tests that send what a buggy or foreign producer might). */
export async function publishRaw(exchange: string, routingKey: string, body: Buffer, options: amqp.Options.Publish = {}): Promise<void> {
  const connection = await amqp.connect(TEST_AMQP_URL);
  try {
    const channel = await connection.createConfirmChannel();
    channel.publish(exchange, routingKey, body, { persistent: true, ...options });
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Wait for the next message on a queue (polling basic.get, bounded), ack it and return it. */
export async function takeMessage(queue: string, timeoutMs = 10_000): Promise<amqp.GetMessage> {
  const connection = await amqp.connect(TEST_AMQP_URL);
  try {
    const channel = await connection.createChannel();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const message = await channel.get(queue, { noAck: false });
      if (message) {
        channel.ack(message);
        await channel.close();
        return message;
      }
      if (Date.now() > deadline) throw new Error(`no message on ${queue} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await connection.close();
  }
}

/**
 * Make the shared broker drop the connections of the given OS processes (named warren-<role>@host:pid),
 * as a broker restart or a network blip would — without touching anyone else's connections.
 */
export function closeConnectionsOf(pids: readonly number[]): number {
  const listing = execFileSync('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q'], { encoding: 'utf8' });
  let closed = 0;
  for (const line of listing.split('\n')) {
    const pid = /^(<[^>]+>)\t/.exec(line)?.[1];
    if (!pid || !pids.some((p) => line.includes(`:${p}"`))) continue;
    execFileSync('rabbitmqctl', ['close_connection', pid, 'test: simulated connection loss'], { stdio: 'ignore' });
    closed += 1;
  }
  return closed;
}

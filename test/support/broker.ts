import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { buildTopology, deleteTopology } from '../../shared/index.js';

/** The shared broker on this machine; tests isolate themselves by a unique prefix. */
export const TEST_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

export function uniquePrefix(): string {
  return `test-${randomUUID().slice(0, 8)}`;
}

/** Delete every exchange and queue a prefix declared, so a test run leaves the broker as it found it. */
export async function deletePrefix(prefix: string, processors: readonly string[] = ['echo']): Promise<void> {
  const connection = await amqp.connect(TEST_AMQP_URL);
  try {
    const channel = await connection.createChannel();
    await deleteTopology(channel, buildTopology({ prefix, processors, taskQueueMaxLength: 1, deliveryLimit: 1 }));
    await channel.close();
  } finally {
    await connection.close();
  }
}

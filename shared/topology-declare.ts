import type { Channel } from 'amqplib';
import type { Topology } from './topology.js';

export async function assertTopology(channel: Channel, topology: Topology): Promise<void> {
  for (const exchange of [...topology.declare.exchanges, ...topology.celery.declare.exchanges]) {
    await channel.assertExchange(exchange.name, exchange.type, exchange.options);
  }
  for (const queue of [...topology.declare.queues, ...topology.celery.declare.queues]) {
    await channel.assertQueue(queue.name, queue.options);
    for (const binding of queue.bindings) await channel.bindQueue(queue.name, binding.exchange, binding.pattern);
  }
}

/**
 * Declare just what one consumer needs: the exchanges (cheap) and its own queue with its bindings.
 * Consumer channels use this instead of the whole topology — every quorum queue declared is a
 * round of Raft work, and a gateway opens several consumer channels at once.
 */
export async function assertQueueTopology(channel: Channel, topology: Topology, queueName: string): Promise<void> {
  for (const exchange of topology.declare.exchanges) await channel.assertExchange(exchange.name, exchange.type, exchange.options);
  const queue = topology.declare.queues.find((spec) => spec.name === queueName);
  if (!queue) throw new Error(`queue ${queueName} is not part of the topology`);
  await channel.assertQueue(queue.name, queue.options);
  for (const binding of queue.bindings) await channel.bindQueue(queue.name, binding.exchange, binding.pattern);
}

/** Remove everything a topology declared under its prefix (tests; tearing down a prefix) — not Celery's queues and exchanges. */
export async function deleteTopology(channel: Channel, topology: Topology): Promise<void> {
  for (const queue of topology.declare.queues) await channel.deleteQueue(queue.name);
  for (const exchange of topology.declare.exchanges) await channel.deleteExchange(exchange.name);
}

import amqp, { type ConsumeMessage } from 'amqplib';

/**
 * The responder half of the raw AMQP ceiling (bench/raw-amqp.ts), run as its own process the way a
 * warren worker is: consume requests with prefetch PREFETCH on one channel, publish each reply on a
 * confirm channel, and ack the request only once the reply is confirmed — warren's worker
 * discipline with nothing else (no contract validation, no processor). EVENTS=2 adds warren's
 * message pattern: a confirmed "started" message before the reply, as the worker publishes STARTED
 * before SUCCESS — so the gap to warren can be split into "more messages" and "more software".
 *   AMQP_URL=… REQUESTS=q REPLIES=q PREFETCH=16 EVENTS=1 node --import tsx bench/amqp-responder.ts
 */
const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const requests = process.env.REQUESTS!;
const replies = process.env.REPLIES!;
const prefetch = Number(process.env.PREFETCH ?? 16);
const events = Number(process.env.EVENTS ?? 1);

// Nagle off, as warren's Broker does: otherwise every small message waits ~40 ms.
const connection = await amqp.connect(url, { noDelay: true, clientProperties: { connection_name: `bench-responder:${process.pid}` } });
const publisher = await connection.createConfirmChannel();
const consumer = await connection.createChannel();
await consumer.prefetch(prefetch);
await consumer.consume(requests, (message: ConsumeMessage | null) => {
  if (!message) return;
  const request = JSON.parse(message.content.toString()) as { id: string; fields: Record<string, unknown> };
  const correlationId = message.properties.correlationId as string;
  const send = (status: string, body: Record<string, unknown>): Promise<void> =>
    new Promise((resolve, reject) => {
      const content = Buffer.from(JSON.stringify({ id: request.id, status, ...body }));
      publisher.sendToQueue(replies, content, { persistent: true, contentType: 'application/json', correlationId, type: status }, (err) =>
        err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
      );
    });
  (async () => {
    if (events >= 2) await send('STARTED', {});
    await send('SUCCESS', { result: { fields: request.fields } });
  })().then(
    () => consumer.ack(message),
    // An unconfirmed reply leaves the request to be redelivered, as warren requeues.
    () => consumer.nack(message, false, true),
  );
});
console.log(JSON.stringify({ msg: 'responder consuming', pid: process.pid }));

const shutdown = (): void => {
  void connection.close().finally(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

import { Worker } from 'bullmq';

/**
 * The peer's worker: BullMQ's Worker with concurrency 16 running an echo processor that answers
 * what warren's echo answers ({fields, files}), so the client's check holds against both.
 *   REDIS_URL=redis://127.0.0.1:6379 PEERS_PREFIX=test-x PEERS_QUEUE=echo node --import tsx bench/peers/bullmq-worker.ts
 */
const connection = { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' };
const worker = new Worker(process.env.PEERS_QUEUE ?? 'echo', async (job) => ({ fields: job.data as unknown, files: [] }), {
  connection,
  prefix: process.env.PEERS_PREFIX ?? 'bull',
  concurrency: Number(process.env.PEERS_CONCURRENCY ?? 16),
});
worker.on('ready', () => console.log(JSON.stringify({ msg: 'bullmq worker ready', pid: process.pid })));
worker.on('error', (err) => console.error(JSON.stringify({ level: 50, msg: 'bullmq worker error', err: err.message })));
const shutdown = (): void => void worker.close().then(() => process.exit(0));
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

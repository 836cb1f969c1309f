import type { AddressInfo } from 'node:net';
import { Job, Queue } from 'bullmq';
import express from 'express';

/**
 * The peer a Node team would build instead of warren: Express + BullMQ, written the way BullMQ's
 * documentation shows, with warren's routes and answers so the same client drives both. Submit
 * adds a job (BullMQ's defaults: completed jobs kept, no attempts beyond the first); task_status
 * reads the job and its state; task_result its return value. What it promises is Redis's: on this
 * machine's Redis (no AOF, no RDB snapshots) an accepted job survives a gateway or worker crash but
 * not a Redis restart; there is no publisher confirm and no fsync before the 202.
 *   REDIS_URL=redis://127.0.0.1:6379 PEERS_PREFIX=test-x PEERS_QUEUE=echo node --import tsx bench/peers/bullmq-gateway.ts
 */
const basePath = '/prediction';
const MAX_BODY_BYTES = 1_048_576; // the same body limits as warren's defaults
const MAX_FIELDS = 100;
const connection = { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' };
const queue = new Queue(process.env.PEERS_QUEUE ?? 'echo', { connection, prefix: process.env.PEERS_PREFIX ?? 'bull' });

const STATUS_OF: Record<string, string> = {
  waiting: 'PENDING',
  'waiting-children': 'PENDING',
  prioritized: 'PENDING',
  delayed: 'RETRY',
  active: 'STARTED',
  completed: 'SUCCESS',
  failed: 'FAILURE',
};
const notFound = { error: { code: 'task_not_found', message: 'no such task' } };
const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
const links = (id: string): { status_url: string; result_url: string } => ({
  status_url: `${basePath}/task_status/${id}`,
  result_url: `${basePath}/task_result/${id}`,
});

const app = express();
app.disable('x-powered-by');
app.set('query parser', 'simple');
const api = express.Router();

api.post(
  '/uploader',
  express.json({ limit: MAX_BODY_BYTES, strict: true }),
  express.urlencoded({ extended: false, limit: MAX_BODY_BYTES, parameterLimit: MAX_FIELDS + 1 }),
  async (req, res) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (body === undefined) {
      res.status(415).json({ error: { code: 'unsupported_media_type', message: 'send JSON or a form' } });
      return;
    }
    const { processor = 'echo', ...fields } = body;
    const job = await queue.add(String(processor), fields);
    const id = job.id!;
    res
      .status(202)
      .location(links(id).status_url)
      .json({ task_id: id, status: 'PENDING', processor, ...links(id) });
  },
);
api.get('/task_status/:id', async (req, res) => {
  const job = await Job.fromId(queue, req.params.id);
  if (!job) {
    res.status(404).json(notFound);
    return;
  }
  const state = await job.getState();
  res.setHeader('Cache-Control', 'no-store');
  res.json({
    task_id: job.id,
    status: STATUS_OF[state] ?? 'PENDING',
    processor: job.name,
    progress: typeof job.progress === 'number' ? job.progress : null,
    progress_message: null,
    attempts: job.attemptsMade,
    created_at: iso(job.timestamp),
    started_at: iso(job.processedOn),
    finished_at: iso(job.finishedOn),
    error: job.failedReason ? { code: 'failed', message: job.failedReason } : null,
    artifacts: [],
    ...links(job.id!),
  });
});
api.get('/task_result/:id', async (req, res) => {
  const job = await Job.fromId(queue, req.params.id);
  if (!job || job.finishedOn === undefined) {
    res.status(404).json(notFound);
    return;
  }
  res.setHeader('Cache-Control', 'no-store');
  res.json(job.returnvalue);
});
app.use(basePath, api);

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
server.keepAliveTimeout = 65_000; // as warren's gateway, so clients reuse connections the same way
server.on('listening', () => {
  console.log(JSON.stringify({ msg: 'bullmq gateway listening', port: (server.address() as AddressInfo).port, pid: process.pid }));
});
const shutdown = (): void => {
  server.close(() => void queue.close().then(() => process.exit(0)));
  server.closeAllConnections();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

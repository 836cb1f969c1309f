import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';

/**
 * The HTTP ceiling: warren's routes answered by a server that does nothing — no broker, no store,
 * no logging, no helmet — so the same client against it measures what HTTP, Express 5 and the
 * load generator cost on this machine. It keeps the body parsers warren's submit route runs
 * (JSON, then urlencoded, with warren's default limits) and the answers' shapes. It is stateless,
 * so several of them answer any poll the way warren's gateways do by sharing a store: the task id
 * is a fresh UUID followed by the submitted fields (base64url), which task_result decodes — the
 * client's check (its item_a comes back) then holds against both servers.
 *   node --import tsx bench/ceiling-http.ts   (PORT=0 picks a free port; it logs {"msg":"ceiling listening","port":N})
 */
const basePath = process.env.BASE_PATH ?? '/prediction';
const MAX_BODY_BYTES = 1_048_576; // warren's MAX_BODY_BYTES default
const MAX_FIELDS = 100; // warren's MAX_FIELDS default

/** `<uuid>.<base64url JSON of the fields>`; undefined for an id this server could not have issued. */
const fieldsOf = (id: string): Record<string, unknown> | undefined => {
  const dot = id.indexOf('.');
  if (dot !== 36) return undefined;
  try {
    return JSON.parse(Buffer.from(id.slice(dot + 1), 'base64url').toString()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};
const notFound = { error: { code: 'task_not_found', message: 'no such task' } };
const app = express();
app.disable('x-powered-by');
app.set('query parser', 'simple');
const api = express.Router();

api.get('/echo', (_req, res) => {
  res.json({ status: 'ok', service: 'ceiling' });
});
api.post(
  '/uploader',
  express.json({ limit: MAX_BODY_BYTES, strict: true }),
  express.urlencoded({ extended: false, limit: MAX_BODY_BYTES, parameterLimit: MAX_FIELDS + 1 }),
  (req, res) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (body === undefined) {
      res.status(415).json({ error: { code: 'unsupported_media_type', message: 'send JSON or a form' } });
      return;
    }
    const { processor = 'echo', ...fields } = body;
    const id = `${randomUUID()}.${Buffer.from(JSON.stringify(fields)).toString('base64url')}`;
    const statusUrl = `${basePath}/task_status/${id}`;
    res
      .status(202)
      .location(statusUrl)
      .json({ task_id: id, status: 'PENDING', processor, status_url: statusUrl, result_url: `${basePath}/task_result/${id}` });
  },
);
api.get('/task_status/:id', (req, res) => {
  if (!fieldsOf(req.params.id)) {
    res.status(404).json(notFound);
    return;
  }
  const now = new Date().toISOString();
  res.setHeader('Cache-Control', 'no-store');
  // The shape of warren's status document, already finished.
  res.json({
    task_id: req.params.id,
    status: 'SUCCESS',
    processor: 'echo',
    progress: null,
    progress_message: null,
    attempts: 1,
    created_at: now,
    started_at: now,
    finished_at: now,
    error: null,
    artifacts: [],
    status_url: `${basePath}/task_status/${req.params.id}`,
    result_url: `${basePath}/task_result/${req.params.id}`,
  });
});
api.get('/task_result/:id', (req, res) => {
  const fields = fieldsOf(req.params.id);
  if (!fields) {
    res.status(404).json(notFound);
    return;
  }
  res.setHeader('Cache-Control', 'no-store');
  res.json({ fields, files: [] });
});
app.use(basePath || '/', api);

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
server.keepAliveTimeout = 65_000; // as warren's gateway, so clients reuse connections the same way
server.on('listening', () => {
  console.log(JSON.stringify({ msg: 'ceiling listening', port: (server.address() as AddressInfo).port, pid: process.pid }));
});
// A clean exit (not death by signal), so `--cpu-prof` can write its profile if ever used here.
const shutdown = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

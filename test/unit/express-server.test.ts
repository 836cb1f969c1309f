import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createExpressServer } from '../../gateway/http/express-server.js';

/** gateway/http/express-server.ts: requests and responses born with Express's prototypes, the app unchanged. */
let server: http.Server | undefined;
afterEach(() => server?.close());

async function serve(app: express.Express): Promise<string> {
  server = createExpressServer(app).listen(0, '127.0.0.1');
  await new Promise((resolve) => server!.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('createExpressServer', () => {
  it("builds each request and response on the app's own prototypes, before Express sees them", async () => {
    const app = express();
    app.get('/', (_req, res) => void res.json({ ok: true }));
    const url = await serve(app);
    const born: boolean[] = [];
    // Runs before the app's listener: what the server constructed, not what Express made of it.
    server!.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) =>
      born.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response),
    );
    await (await fetch(url)).text();
    await (await fetch(url)).text();
    expect(born).toEqual([true, true]);
  });

  it('serves the app as app.listen would: params, bodies, headers, streams, errors', async () => {
    const app = express();
    app.use(express.json());
    app.post('/echo/:id', (req, res) => {
      res.setHeader('X-Seen', String(req instanceof http.IncomingMessage && res instanceof http.ServerResponse));
      res.status(201).json({ id: req.params.id, body: req.body as unknown, host: req.hostname, accepts: req.accepts(['json', 'html']) });
    });
    app.get('/stream', (_req, res) => {
      res.write('a');
      res.end('b');
    });
    app.use((_req, res) => void res.status(404).send('nothing here'));
    const url = await serve(app);

    const created = await fetch(`${url}/echo/42`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: '{"n":1}',
    });
    expect([created.status, created.headers.get('x-seen'), created.headers.get('content-type')]).toEqual([201, 'true', 'application/json; charset=utf-8']);
    expect(await created.json()).toEqual({ id: '42', body: { n: 1 }, host: '127.0.0.1', accepts: 'json' });
    expect(await (await fetch(`${url}/stream`)).text()).toBe('ab');
    const missing = await fetch(`${url}/nope`);
    expect([missing.status, await missing.text()]).toEqual([404, 'nothing here']);
  });
});

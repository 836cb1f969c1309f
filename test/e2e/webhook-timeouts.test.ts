import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { DELIVERY_JOB_TYPE, type DeliveryJob } from '../../shared/index.js';
import { createUrlGuard } from '../../shared/url-guard.js';
import { createWebhookDeliverer } from '../../worker/deliverers/webhook.js';
import { startTarpit } from '../support/tarpit.js';
import { startUnacceptingServer } from '../support/unaccepting-server.js';

/**
 * How long one webhook attempt may hold a delivery slot, against real sockets on 127.0.0.1: an
 * endpoint that never accepts costs the connect timeout, one that accepts and never answers the
 * request timeout, and so does one that answers at once but trickles its body — the timeout is
 * for the whole request, not for the wait between two bytes.
 */
const TIMEOUT_MS = 1500;
const CONNECT_TIMEOUT_MS = 400;
const deliverer = createWebhookDeliverer({
  secret: `whsec_${randomBytes(32).toString('base64')}`,
  timeoutMs: TIMEOUT_MS,
  connectTimeoutMs: CONNECT_TIMEOUT_MS,
  guard: createUrlGuard(['127.0.0.1']),
});
afterAll(() => deliverer.close());

function jobFor(url: string): DeliveryJob {
  const id = randomUUID();
  return {
    type: DELIVERY_JOB_TYPE,
    version: 1,
    delivery_id: id,
    task_id: id,
    processor: 'echo',
    target_id: 'webhook',
    target: { kind: 'webhook', url, events: ['completed'] },
    event: 'completed',
    round: 1,
    attempt: 1,
    document: {},
    artifacts: [],
  };
}

/** The attempt's error and how long it took. */
async function attempt(url: string): Promise<{ code: unknown; ms: number }> {
  const began = Date.now();
  const error = await deliverer.deliver(jobFor(url), new AbortController().signal).then(
    () => undefined,
    (err: unknown) => err,
  );
  return { code: (error as { code?: unknown } | undefined)?.code, ms: Date.now() - began };
}

describe('webhook timeouts', () => {
  it('gives up on an endpoint that never accepts after the connect timeout', async () => {
    const deaf = await startUnacceptingServer();
    try {
      const { code, ms } = await attempt(deaf.url('/hook'));
      expect(code).toBe('webhook_connect_timeout');
      expect(ms).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(TIMEOUT_MS);
    } finally {
      await deaf.close();
    }
  });

  it('gives up on an endpoint that accepts and never answers after the request timeout, and closes the connection', async () => {
    const tarpit = await startTarpit();
    try {
      const { code, ms } = await attempt(tarpit.url('/hook'));
      expect(code).toBe('webhook_timeout');
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(TIMEOUT_MS + 1000);
      expect(tarpit.own.peak).toBe(1);
      const deadline = Date.now() + 2000;
      while (tarpit.own.open > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(tarpit.own.open).toBe(0);
    } finally {
      await tarpit.close();
    }
  });

  it('gives up on an endpoint that answers at once but trickles its body, after the request timeout', async () => {
    const timers = new Set<NodeJS.Timeout>();
    const trickler = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      // One byte every 100 ms: never idle long enough for a per-read timeout to fire.
      const timer = setInterval(() => res.write('.'), 100);
      timers.add(timer);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => trickler.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = trickler.address() as AddressInfo;
      const { code, ms } = await attempt(`http://127.0.0.1:${port}/hook`);
      expect(code).toBe('webhook_timeout');
      expect(ms).toBeLessThan(TIMEOUT_MS + 1000);
    } finally {
      for (const timer of timers) clearInterval(timer);
      trickler.closeAllConnections();
      await new Promise((resolve) => trickler.close(resolve));
    }
  });
});

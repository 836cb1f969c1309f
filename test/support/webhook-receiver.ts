import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * A client's webhook endpoint for tests: records every request, verifies its signature with the
 * standardwebhooks library (as a real receiver would), and answers as `respond` says.
 */
export interface ReceivedWebhook {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** True when the Standard Webhooks signature verified. */
  verified: boolean;
  json: { type: string; timestamp: string; data: Record<string, unknown> };
  /** When its body had arrived, and when it was answered (after any delay the responder asked for). */
  receivedAt: number;
  answeredAt?: number;
}

export interface WebhookReceiver {
  url(path: string): string;
  received: ReceivedWebhook[];
  /** Resolves once `predicate` holds for the received requests (bounded). */
  waitFor(predicate: (received: ReceivedWebhook[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** `delayMs` holds the answer back, as a slow receiver would. */
export type Responder = (request: ReceivedWebhook, countForPath: number) => { status: number; headers?: Record<string, string>; delayMs?: number };

export async function startWebhookReceiver(secret: string, respond: Responder): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret);
  const received: ReceivedWebhook[] = [];
  const waiters = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      let verified = true;
      try {
        verifier.verify(body, headers);
      } catch {
        verified = false;
      }
      const request: ReceivedWebhook = {
        path: req.url ?? '/',
        headers,
        body,
        verified,
        json: JSON.parse(body) as ReceivedWebhook['json'],
        receivedAt: Date.now(),
      };
      received.push(request);
      const answer = respond(request, received.filter((r) => r.path === request.path).length);
      const reply = (): void => {
        res.writeHead(answer.status, answer.headers).end();
        request.answeredAt = Date.now();
        for (const wake of waiters) wake();
      };
      if (answer.delayMs === undefined) reply();
      else setTimeout(reply, answer.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received,
    waitFor(predicate, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (!predicate(received)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`webhook receiver: condition not met within ${timeoutMs} ms (${received.length} requests)`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

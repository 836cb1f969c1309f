import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerClientError } from '../../gateway/http/client-errors.js';

/** Requests Node's parser refuses never reach Express; they still get the error envelope. */
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((_req, res) => res.end('ok'));
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('requests the HTTP parser refuses', () => {
  it('answers headers over the size limit with 431 and the error envelope, not a bare status line', async () => {
    const response = await fetch(`${base}/echo`, { headers: { 'x-filler': 'h'.repeat(64 * 1024) }, signal: AbortSignal.timeout(5_000) });
    expect(response.status).toBe(431);
    expect(await response.json()).toEqual({ error: { code: 'headers_too_large', message: expect.any(String) } });
  });

  it('answers a broken request line with 400 and the error envelope', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1', () => socket.write('NOT A REQUEST\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.setTimeout(5_000, () => reject(new Error('no answer within 5 s')));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'bad_request', message: 'malformed HTTP request' } });
  });
});

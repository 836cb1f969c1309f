import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import { describe, expect, it } from 'vitest';
import { GATEWAY_HELMET_OPTIONS, securityHeaders } from '../../gateway/http/security-headers.js';

/** The headers a real Express app answers with behind `middleware`, minus those that change per answer. */
async function headersBehind(middleware: RequestHandler): Promise<Record<string, string>> {
  const app = express();
  app.disable('x-powered-by');
  app.use(middleware);
  app.get('/', (_req, res) => void res.json({ ok: true }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const headers = Object.fromEntries(response.headers);
    delete headers.date;
    return headers;
  } finally {
    server.close();
  }
}

describe('securityHeaders', () => {
  it('answers with exactly the headers helmet itself sets with the gateway policy', async () => {
    const expected = await headersBehind(helmet(GATEWAY_HELMET_OPTIONS));
    expect(await headersBehind(securityHeaders())).toEqual(expected);
    expect(expected['content-security-policy']).toContain("script-src 'self'");
    expect(expected['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(expected['referrer-policy']).toBe('same-origin');
    expect(expected['strict-transport-security']).toBeUndefined();
  });
});

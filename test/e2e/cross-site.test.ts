import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../support/processes.js';
import { testStack, type TestStack } from '../support/stack.js';

/**
 * Where a gateway takes its own origin from, for the cross-site check (gateway/http/cross-site.ts):
 * the Host a request was addressed to (or what a proxy in front says), or PUBLIC_URL when set.
 * The browser itself is in test/browser/cross-site.test.ts; here the headers are ours to choose.
 */
let stack: TestStack;
let direct: Gateway;
let proxied: Gateway;

beforeAll(async () => {
  stack = testStack('cross-site-origin');
  [direct, proxied] = await Promise.all([stack.gateway(), stack.gateway({ PUBLIC_URL: 'https://ml.example.com/warren/' })]);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

const originOf = (gateway: Gateway): string => new URL(gateway.url).origin;

async function submit(gateway: Gateway, headers: Record<string, string>): Promise<{ status: number; body: { error?: { code: string; message: string } } }> {
  const response = await fetch(`${gateway.url}/uploader`, {
    method: 'POST',
    body: new URLSearchParams({ item_a: 'origin check' }),
    headers: { accept: 'application/json', ...headers },
  });
  return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } };
}

describe('a gateway without PUBLIC_URL', () => {
  it('takes changes from its own origin, as the request addressed it, and from clients that are not browsers', async () => {
    expect((await submit(direct, { origin: originOf(direct) })).status).toBe(202);
    expect((await submit(direct, { referer: `${originOf(direct)}/prediction/upload` })).status).toBe(202);
    expect((await submit(direct, {})).status).toBe(202);
  });

  it('refuses another origin with 403 cross_site_request, and says how to fix a proxy', async () => {
    const refused = await submit(direct, { origin: 'http://evil.test' });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'cross_site_request', message: expect.stringMatching(/http:\/\/evil\.test.*set PUBLIC_URL/) });
  });

  it('follows a TLS proxy in front that says so (X-Forwarded-Proto, X-Forwarded-Host)', async () => {
    const viaProxy = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'ml.example.com' };
    expect((await submit(direct, { ...viaProxy, origin: 'https://ml.example.com' })).status).toBe(202);
    expect((await submit(direct, { ...viaProxy, origin: 'http://ml.example.com' })).status).toBe(403);
  });

  it('guards every change, not only submits: cancel and redeliver too', async () => {
    const { body } = await submit(direct, {});
    const id = (body as { task_id?: string }).task_id!;
    for (const path of [`/task_cancel/${id}`, `/task_deliveries/${id}/webhook/redeliver`]) {
      const response = await fetch(`${direct.url}${path}`, { method: 'POST', headers: { origin: 'http://evil.test' } });
      expect(response.status, path).toBe(403);
      expect(await response.json()).toMatchObject({ error: { code: 'cross_site_request' } });
    }
  });
});

describe('a gateway with PUBLIC_URL', () => {
  it('takes changes from PUBLIC_URL’s origin only, whatever Host the request carries', async () => {
    expect((await submit(proxied, { origin: 'https://ml.example.com' })).status).toBe(202);
    expect((await submit(proxied, { referer: 'https://ml.example.com/warren/prediction/upload' })).status).toBe(202);
    const ownHost = await submit(proxied, { origin: originOf(proxied) });
    expect(ownHost.status).toBe(403);
    expect(ownHost.body.error!.message).not.toMatch(/PUBLIC_URL/);
    expect((await submit(proxied, { origin: 'https://ml.example.com', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/**
 * API keys (API_KEYS) on real gateways: a request without a key, or with a wrong one, gets 401;
 * a task belongs to the key that made it and is 404 — word for word an unknown id's answer — for
 * every other key, on every route that names a task; Idempotency-Keys are per API key; only
 * ADMIN_KEYS open the dashboard; a browser may sign in with Basic but not be made to submit from
 * another site; each key has its own rate limit. Three gateways share one store: `locked` needs a
 * key, `open` also takes anonymous requests (ALLOW_ANONYMOUS), `limited` has a small rate limit.
 */
const SECRETS = { alice: 'alice-0123456789abcdef', bob: 'bob-0123456789abcdef00', ops: 'ops-0123456789abcdef00' };
const API_KEYS = Object.entries(SECRETS)
  .map(([name, secret]) => `${name}:${secret}`)
  .join(',');
const LIMIT = 6;
const stack = testStack('auth', { API_KEYS, ADMIN_KEYS: 'ops' });
let locked: Gateway;
let open: Gateway;
let limited: Gateway;

beforeAll(async () => {
  [locked, open, limited] = await Promise.all([
    stack.gateway(),
    stack.gateway({ ALLOW_ANONYMOUS: 'on' }),
    stack.gateway({ ALLOW_ANONYMOUS: 'on', RATE_LIMIT: String(LIMIT), RATE_LIMIT_WINDOW_SECONDS: '60' }),
    stack.worker(),
  ]);
}, 60_000);

afterAll(() => stack.stop(), 60_000);

type Who = keyof typeof SECRETS | 'nobody';
const bearer = (who: Who): Record<string, string> => (who === 'nobody' ? {} : { authorization: `Bearer ${SECRETS[who]}` });

async function submit(base: string, who: Who, body: Record<string, unknown> = { item_a: `by ${who}` }, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${base}/uploader`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...bearer(who), ...headers },
  });
  expect(response.status, await response.clone().text()).toBe(202);
  return ((await response.json()) as { task_id: string }).task_id;
}

async function finished(base: string, who: Who, id: string): Promise<{ status: string }> {
  const response = await fetch(`${base}/task_status/${id}`, { headers: { ...bearer(who), prefer: 'wait=10' } });
  expect(response.status).toBe(200);
  for (let n = 0; n < 100; n += 1) {
    const document = (await (await fetch(`${base}/task_status/${id}`, { headers: bearer(who) })).json()) as { status: string };
    if (document.status === 'SUCCESS') return document;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`task ${id} did not finish`);
}

/** Every route that names a task, as one client asks it. */
const taskRoutes = (id: string): [string, RequestInit][] => [
  [`task_status/${id}`, {}],
  [`task_result/${id}`, {}],
  [`task_result/${id}/artifacts/out.txt`, {}],
  [`tasks/${id}`, {}],
  [`task_events/${id}`, {}],
  [`task_deliveries/${id}/webhook`, {}],
  [`task_deliveries/${id}/webhook/redeliver`, { method: 'POST' }],
  [`task_cancel/${id}`, { method: 'POST' }],
];

/** The answer with the id taken out, to compare another key's task with an id nobody has. */
async function answerOf(url: string, init: RequestInit, id: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.text()).replaceAll(id, '<id>') };
}

describe('API keys', () => {
  it('answers 401 with a challenge and the error envelope without a key or with a wrong one, on every task route', async () => {
    const id = await submit(locked.url, 'alice');
    for (const [path, init] of [
      ['uploader', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }] as [string, RequestInit],
      ...taskRoutes(id),
    ]) {
      const none = await fetch(`${locked.url}/${path}`, init);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="warren"');
      expect(await none.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });

      const wrong = await fetch(`${locked.url}/${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: 'Bearer not-a-key-0123456789' },
      });
      expect(wrong.status, path).toBe(401);
      expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="warren", error="invalid_token"');
      expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    }
    const garbled = await fetch(`${locked.url}/task_status/${id}`, { headers: { authorization: 'Token abc' } });
    expect(garbled.status).toBe(401);
    expect(((await garbled.json()) as { error: { code: string } }).error.code).toBe('invalid_authorization');
    // A wrong key is refused even where anonymous requests pass.
    expect((await fetch(`${open.url}/task_status/${id}`, { headers: { authorization: 'Bearer not-a-key-0123456789' } })).status).toBe(401);
  });

  it('leaves probes, discovery and the API description open', async () => {
    for (const path of ['echo', 'health/ready', 'processors', 'openapi.json', 'upload/fields?processor=echo']) {
      expect((await fetch(`${locked.url}/${path}`)).status, path).toBe(200);
    }
  });

  it('gives a task to the key that made it: 404 for every other key and for anonymous, exactly as for an unknown id', async () => {
    const id = await submit(locked.url, 'alice', { item_a: 'mine', sleep_ms: 300 });
    const nobodysId = '6f1c1d2e-1111-4aaa-8bbb-123456789abc';
    for (const [path, init] of taskRoutes(id)) {
      const unknown = await answerOf(`${locked.url}/${path.replace(id, nobodysId)}`, { ...init, headers: bearer('bob') }, nobodysId);
      expect(unknown.status, path).toBe(404);
      expect(await answerOf(`${locked.url}/${path}`, { ...init, headers: bearer('bob') }, id), path).toEqual(unknown);
      // Anonymous, on the gateway that lets anonymous requests in: not theirs either.
      expect(await answerOf(`${open.url}/${path}`, init, id), path).toEqual(await answerOf(`${open.url}/${path.replace(id, nobodysId)}`, init, nobodysId));
    }
    // Bob's cancel did nothing: the task still finishes, and its owner reads the result on either gateway.
    expect((await finished(locked.url, 'alice', id)).status).toBe('SUCCESS');
    const result = await fetch(`${open.url}/task_result/${id}`, { headers: bearer('alice') });
    expect(result.status).toBe(200);
    expect(await result.json()).toMatchObject({ fields: { item_a: 'mine' } });
  });

  it('lists on GET /tasks only the tasks of the key asking, and only the anonymous ones without a key', async () => {
    const [alices, bobs, anonymous] = await Promise.all([submit(open.url, 'alice'), submit(open.url, 'bob'), submit(open.url, 'nobody')]);
    const listed = async (who: Who): Promise<string[]> => {
      const response = await fetch(`${open.url}/tasks?limit=100`, { headers: bearer(who) });
      expect(response.status).toBe(200);
      return ((await response.json()) as { tasks: { task_id: string }[] }).tasks.map((t) => t.task_id);
    };
    const [forAlice, forBob, forNobody, forOps] = await Promise.all([listed('alice'), listed('bob'), listed('nobody'), listed('ops')]);
    expect(forAlice).toContain(alices);
    expect(forAlice).not.toContain(bobs);
    expect(forAlice).not.toContain(anonymous);
    expect(forBob).toContain(bobs);
    expect(forBob).not.toContain(alices);
    expect(forNobody).toContain(anonymous);
    expect(forNobody).not.toContain(alices);
    // "Your tasks" for an admin key too: the dashboard is where every task shows.
    expect(forOps).not.toContain(alices);
    expect((await fetch(`${locked.url}/tasks`)).status).toBe(401);
  });

  it('lets an admin key read every task, and only admin keys open the dashboard', async () => {
    const id = await submit(locked.url, 'alice');
    expect((await fetch(`${locked.url}/task_status/${id}`, { headers: bearer('ops') })).status).toBe(200);
    expect((await fetch(`${locked.url}/dashboard.json`, { headers: bearer('ops') })).status).toBe(200);

    const notAdmin = await fetch(`${locked.url}/dashboard.json`, { headers: bearer('alice') });
    expect(notAdmin.status).toBe(403);
    expect(((await notAdmin.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect((await fetch(`${locked.url}/dashboard/dead-letters/redrive`, { method: 'POST', headers: bearer('bob') })).status).toBe(403);
    // A browser without credentials is asked to sign in (Basic), so it shows its own prompt.
    const browser = await fetch(`${open.url}/dashboard`, { headers: { accept: 'text/html' } });
    expect(browser.status).toBe(401);
    expect(browser.headers.get('www-authenticate')).toBe('Basic realm="warren", charset="UTF-8"');
  });

  it('scopes Idempotency-Keys to the API key: the same key from two clients makes two tasks', async () => {
    const headers = { 'idempotency-key': `order-${stack.prefix}` };
    const body = { item_a: 'same request' };
    const alices = await submit(locked.url, 'alice', body, headers);
    expect(await submit(open.url, 'alice', body, headers)).toBe(alices);
    const bobs = await submit(locked.url, 'bob', body, headers);
    expect(bobs).not.toBe(alices);
    expect((await fetch(`${locked.url}/task_status/${bobs}`, { headers: bearer('bob') })).status).toBe(200);
  });

  it('signs a browser in with Basic (the secret as password) and refuses a submit another site makes it send', async () => {
    const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const page = await fetch(`${locked.url}/upload`, { headers: { accept: 'text/html', authorization: basic('anyone', SECRETS.alice) } });
    expect(page.status).toBe(200);
    expect((await fetch(`${locked.url}/upload`, { headers: { accept: 'text/html' } })).status).toBe(401);

    const form = { item_a: 'from the form' };
    const sameSite = await fetch(`${locked.url}/uploader`, {
      method: 'POST',
      body: new URLSearchParams(form),
      headers: { accept: 'application/json', authorization: basic(SECRETS.alice, ''), 'sec-fetch-site': 'same-origin' },
    });
    expect(sameSite.status).toBe(202);
    const id = ((await sameSite.json()) as { task_id: string }).task_id;
    expect((await finished(locked.url, 'alice', id)).status).toBe('SUCCESS');

    const crossSite = await fetch(`${locked.url}/uploader`, {
      method: 'POST',
      body: new URLSearchParams(form),
      headers: { accept: 'application/json', authorization: basic('x', SECRETS.alice), 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    expect(((await crossSite.json()) as { error: { code: string } }).error.code).toBe('cross_site_request');
  });

  it('keeps anonymous tasks apart from keyed ones where ALLOW_ANONYMOUS lets them in', async () => {
    const anonymous = await submit(open.url, 'nobody');
    expect((await finished(open.url, 'nobody', anonymous)).status).toBe('SUCCESS');
    expect((await fetch(`${open.url}/task_status/${anonymous}`, { headers: bearer('alice') })).status).toBe(404);
    // The locked gateway does not let anonymous requests in at all.
    expect((await fetch(`${locked.url}/task_status/${anonymous}`)).status).toBe(401);
  });

  it('limits each key on its own: 429 with Retry-After and the envelope once its budget is spent, while other keys go on', async () => {
    // Bob's budget, counted by the limited gateway (in its own memory): LIMIT answers, then 429.
    const answers: number[] = [];
    for (let n = 0; n < LIMIT + 1; n += 1)
      answers.push((await fetch(`${limited.url}/task_status/6f1c1d2e-1111-4aaa-8bbb-123456789abc`, { headers: bearer('bob') })).status);
    expect(answers).toEqual([...Array<number>(LIMIT).fill(404), 429]);
    const refused = await fetch(`${limited.url}/task_status/6f1c1d2e-1111-4aaa-8bbb-123456789abc`, { headers: bearer('bob') });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await refused.json()).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
    // Submits count too; another key, and anonymous requests (counted by address), are not affected.
    const bobsSubmit = await fetch(`${limited.url}/uploader`, {
      method: 'POST',
      body: '{"item_a":"x"}',
      headers: { 'content-type': 'application/json', ...bearer('bob') },
    });
    expect(bobsSubmit.status).toBe(429);
    expect((await fetch(`${limited.url}/task_status/6f1c1d2e-1111-4aaa-8bbb-123456789abc`, { headers: bearer('ops') })).status).toBe(404);
    const anonymous: number[] = [];
    for (let n = 0; n < LIMIT + 1; n += 1) anonymous.push((await fetch(`${limited.url}/task_status/6f1c1d2e-1111-4aaa-8bbb-123456789abc`)).status);
    expect(anonymous).toEqual([...Array<number>(LIMIT).fill(404), 429]);
  });

  it('applies the upload limits to every key', async () => {
    const response = await fetch(`${locked.url}/uploader`, {
      method: 'POST',
      body: JSON.stringify({ item_a: 'x'.repeat(70_000) }),
      headers: { 'content-type': 'application/json', ...bearer('ops') },
    });
    expect(response.status).toBe(413);
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from '../support/browser.js';
import type { Gateway } from '../support/processes.js';
import { testStack, type TestStack } from '../support/stack.js';

/**
 * Cross-site request forgery over plain HTTP. Chromium reaches the gateway as http://gateway.test
 * (mapped to 127.0.0.1 by its own resolver): a name that is neither HTTPS nor localhost, so the
 * browser treats it as not trustworthy and sends no Sec-Fetch-* headers — the case the old check,
 * which looked at Sec-Fetch-Site alone, let through. The attacker's page lives on another server
 * (http://evil.test) and auto-submits forms to the gateway.
 */
const SECRET = 'csrf-user-0123456789abcdef';
const PAGE_BASE = '/prediction';
let stack: TestStack;
let gateway: Gateway;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let attacker: http.Server;
/** The gateway as the browser addresses it; attack pages live at `${evilOrigin}/<name>`. */
let gatewayUrl: string;
let evilOrigin: string;
const attackPages = new Map<string, string>();

describe.skipIf(!browserAvailable)('a page on another site, in the browser of someone signed in to the gateway', () => {
  beforeAll(async () => {
    // ALLOW_ANONYMOUS: the same gateway also serves a browser without a key (an open form).
    stack = testStack('cross-site', { API_KEYS: `formuser:${SECRET}`, ADMIN_KEYS: 'formuser', ALLOW_ANONYMOUS: 'on' });
    attacker = http.createServer((req, res) => {
      const page = attackPages.get(new URL(req.url ?? '/', 'http://x').pathname);
      res.writeHead(page === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page ?? 'not here');
    });
    attacker.listen(0, '127.0.0.1');
    [gateway, { browser, close: closeBrowser }] = await Promise.all([
      stack.gateway(),
      launchBrowser(['--host-resolver-rules=MAP gateway.test 127.0.0.1, MAP evil.test 127.0.0.1']),
    ]);
    gatewayUrl = `http://gateway.test:${new URL(gateway.url).port}${PAGE_BASE}`;
    evilOrigin = `http://evil.test:${(attacker.address() as AddressInfo).port}`;
  }, 90_000);

  afterAll(async () => {
    await closeBrowser?.();
    await new Promise((resolve) => attacker?.close(resolve));
    await stack?.stop();
  });

  /** The tasks the store holds, read as the admin over the API (a non-browser client). */
  async function taskIds(): Promise<string[]> {
    const response = await fetch(`${gateway.url}/dashboard.json?limit=100`, { headers: { authorization: `Bearer ${SECRET}` } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { tasks: { task_id: string }[] }).tasks.map((t) => t.task_id);
  }

  /** Opens an attacker page that posts `fields` to the gateway's `path` at once; resolves with the gateway's answer. */
  async function attack(page: Page, path: string, fields: Record<string, string>): Promise<{ status: number; body: unknown }> {
    const name = `/attack-${attackPages.size}`;
    const inputs = Object.entries(fields)
      .map(([key, value]) => `<input type="hidden" name="${key}" value="${value}">`)
      .join('');
    attackPages.set(name, `<!doctype html><form method="post" action="${gatewayUrl}${path}">${inputs}</form><script>document.forms[0].submit()</script>`);
    const answered = page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${gatewayUrl}${path}`);
    await page.goto(`${evilOrigin}${name}`);
    const response = await answered;
    const request = response.request();
    // The premise: over plain HTTP to this name the browser sends no Sec-Fetch-Site, but the Origin.
    expect(await request.headerValue('sec-fetch-site')).toBeNull();
    expect(await request.headerValue('origin')).toBe(evilOrigin);
    // A redirect (the 303 a browser's accepted submit gets) has no body to read. A refusal is an
    // error page for a browser (it navigated), carrying the envelope's code.
    const redirected = response.status() >= 300 && response.status() < 400;
    if (redirected) return { status: response.status(), body: response.headers().location };
    const text = await response.text();
    const code = /data-error-code="([a-z_]+)"/.exec(text)?.[1];
    return { status: response.status(), body: code === undefined ? (JSON.parse(text) as unknown) : { error: { code } } };
  }

  function signedIn(): Promise<BrowserContext> {
    return browser.newContext({ httpCredentials: { username: 'formuser', password: SECRET, origin: new URL(gatewayUrl).origin } });
  }

  it('cannot make it submit a task, cancel one, or redrive dead letters; its own form still submits', async () => {
    const context = await signedIn();
    const page = await context.newPage();
    // The gateway's own form as it works without JavaScript (its script kept from loading; the
    // attacker's pages need scripts): a plain POST, answered 303 to the task's page.
    await page.route('**/static/upload.js', (route) => route.abort());
    await page.goto(`${gatewayUrl}/upload?processor=echo`);
    await page.getByLabel(/Item A/i).fill('from the gateway’s own form');
    const [posted] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Submit' }).click()]);
    expect(posted.status()).toBe(303);
    await page.waitForURL(/\/tasks\/[0-9a-f-]+$/);
    const ownTask = new URL(page.url()).pathname.split('/').at(-1)!;
    const before = await taskIds();
    expect(before).toContain(ownTask);
    await page.unroute('**/static/upload.js');

    const submit = await attack(page, '/uploader', { processor: 'echo', item_a: 'from evil.test' });
    expect(submit).toMatchObject({ status: 403, body: { error: { code: 'cross_site_request' } } });
    const cancel = await attack(page, `/task_cancel/${ownTask}`, {});
    expect(cancel).toMatchObject({ status: 403, body: { error: { code: 'cross_site_request' } } });
    const redrive = await attack(page, '/dashboard/dead-letters/redrive', { limit: '100' });
    expect(redrive).toMatchObject({ status: 403, body: { error: { code: 'cross_site_request' } } });

    expect(await taskIds()).toEqual(before);
    const status = await fetch(`${gateway.url}/task_status/${ownTask}`, { headers: { authorization: `Bearer ${SECRET}` } });
    expect(((await status.json()) as { status: string }).status).toBe('PENDING');
    await context.close();
  }, 60_000);

  it('submits from the gateway’s own page with JavaScript too (XMLHttpRequest)', async () => {
    const context = await signedIn();
    const page = await context.newPage();
    await page.goto(`${gatewayUrl}/upload?processor=echo`);
    await page.getByLabel(/Item A/i).fill('scripted');
    const [posted] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Submit' }).click()]);
    expect(posted.status()).toBe(202);
    expect(await taskIds()).toContain(((await posted.json()) as { task_id: string }).task_id);
    await context.close();
  }, 30_000);

  it('cannot make a browser without a key submit to a gateway open to anonymous clients', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const before = await taskIds();
    const submit = await attack(page, '/uploader', { processor: 'echo', item_a: 'anonymous, from evil.test' });
    expect(submit).toMatchObject({ status: 403, body: { error: { code: 'cross_site_request' } } });
    expect(await taskIds()).toEqual(before);
    await context.close();
  }, 30_000);
});

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from '../support/browser.js';
import type { Gateway } from '../support/processes.js';
import { testStack, type TestStack } from '../support/stack.js';

/**
 * The upload form behind API keys, in headless Chromium: the browser is asked to sign in (HTTP
 * Basic, the key's secret as the password), and then carries the key with the form's submit and
 * with the page's own requests, the live SSE stream included.
 */
const SECRET = 'form-user-0123456789abcdef';
let stack: TestStack;
let gateway: Gateway;
let browser: Browser;
let closeBrowser: () => Promise<void>;

describe.skipIf(!browserAvailable)('the upload form behind API keys', () => {
  beforeAll(async () => {
    // Made here, not at load: a skipped file must not leave its DATA_DIR behind.
    stack = testStack('signed-in', { API_KEYS: `formuser:${SECRET},other:other-0123456789abcdef` });
    [gateway, , { browser, close: closeBrowser }] = await Promise.all([stack.gateway(), stack.worker(), launchBrowser()]);
  }, 90_000);

  afterAll(async () => {
    await closeBrowser?.();
    await stack?.stop();
  });

  it('asks a browser without a key to sign in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // Headless Chromium has nobody to show its sign-in prompt to, so the navigation fails as cancelled...
    await expect(page.goto(`${gateway.url}/upload`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    // ...because the page asked for Basic credentials.
    const response = await context.request.get(`${gateway.url}/upload`, { headers: { accept: 'text/html' } });
    expect(response.status()).toBe(401);
    expect(response.headers()['www-authenticate']).toBe('Basic realm="warren", charset="UTF-8"');
    await context.close();
  }, 20_000);

  it('submits with the signed-in key and follows the task live to SUCCESS; the task is that key’s', async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'formuser', password: SECRET } });
    const page = await context.newPage();
    const requests: { path: string; status: number }[] = [];
    page.on('response', (response) => requests.push({ path: new URL(response.url()).pathname, status: response.status() }));
    await page.goto(`${gateway.url}/upload?processor=echo`);
    await page.getByLabel(/Item A/i).fill('signed in');
    await page.getByLabel(/Sleep ms/i).fill('800');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.locator('#task [data-field="status"]', { hasText: 'SUCCESS' }).waitFor({ timeout: 20_000 });
    const taskId = (await page.locator('#task [data-field="task-id"]').innerText()).trim();
    expect(requests.some((r) => r.path.includes('/task_events/') && r.status === 200)).toBe(true);
    expect(requests.filter((r) => r.path.includes('/task_status/'))).toEqual([]);

    const asOwner = await fetch(`${gateway.url}/task_result/${taskId}`, { headers: { authorization: `Bearer ${SECRET}` } });
    expect(asOwner.status).toBe(200);
    expect(await asOwner.json()).toMatchObject({ fields: { item_a: 'signed in' } });
    expect((await fetch(`${gateway.url}/task_result/${taskId}`, { headers: { authorization: 'Bearer other-0123456789abcdef' } })).status).toBe(404);
    await context.close();
  }, 40_000);
});

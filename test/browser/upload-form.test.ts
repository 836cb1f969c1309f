import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from '../support/browser.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/** The upload form as a person uses it, in headless Chromium, with and without JavaScript. */
const stack = testStack('browser', { WORKER_PROCESSORS: 'categorize,document,echo', DEFAULT_PROCESSOR: 'categorize' });
let worker: WarrenProcess;
let gateway: Gateway;
let browser: Browser;
let closeBrowser: () => Promise<void>;

describe.skipIf(!browserAvailable)('the upload form in a browser', () => {
  beforeAll(async () => {
    [worker, gateway, { browser, close: closeBrowser }] = await Promise.all([stack.worker(), stack.gateway(), launchBrowser()]);
    await worker.waitForLog((line) => line.msg === 'processor ready' && line.processor === 'document', 60_000);
  }, 90_000);

  afterAll(async () => {
    await closeBrowser?.();
    await stack.stop();
  });

  it('categorizes a product and shows the status reaching SUCCESS without a reload', async () => {
    const page = await browser.newPage();
    await page.goto(`${gateway.url}/upload`);
    await page.getByLabel(/Item A/).fill('Galaxy S23 Ultra 256GB');
    await page.getByLabel(/Item B/).fill('Samsung');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.locator('#task [data-field="status"]', { hasText: 'SUCCESS' }).waitFor({ timeout: 20_000 });
    expect(page.url()).toMatch(/\/upload/); // still the same page: no reload, no redirect
    await expect.poll(() => page.locator('#task').innerText()).toContain('Smartphones');
    // The classification is shown as a table, most likely first.
    await expect.poll(() => page.locator('.result-table tr.best td').first().innerText()).toBe('Smartphones');
    await page.close();
  }, 40_000);

  it('follows a running task live over Server-Sent Events, not by polling', async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(new URL(request.url()).pathname));
    await page.goto(`${gateway.url}/upload?processor=echo`);
    await page.getByLabel(/Sleep ms/i).fill('1500');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.locator('#task [data-field="status"]', { hasText: 'STARTED' }).waitFor({ timeout: 10_000 });
    await page.locator('#task [data-field="status"]', { hasText: 'SUCCESS' }).waitFor({ timeout: 10_000 });
    expect(requests.some((path) => path.includes('/task_events/'))).toBe(true);
    expect(requests.filter((path) => path.includes('/task_status/'))).toEqual([]);
    await page.close();
  }, 30_000);

  it('switches to the document processor, shows a file input, and OCRs an uploaded image', async () => {
    const page = await browser.newPage();
    await page.goto(`${gateway.url}/upload`);
    await page.locator('#processor').selectOption('document');
    const file = page.locator('input[type="file"]');
    await file.waitFor();
    expect(await file.getAttribute('accept')).toContain('image/png');
    await file.setInputFiles(path.resolve('test/fixtures/invoice.png'));
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.locator('#task [data-field="status"]', { hasText: 'SUCCESS' }).waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('#task').innerText()).toMatch(/INVOICE/);
    // The word boxes are drawn over the uploaded image.
    await expect.poll(() => page.locator('.ocr-frame .ocr-box').count()).toBeGreaterThan(3);
    await page.locator('.ocr-frame').screenshot({ path: path.join(os.tmpdir(), 'warren-ocr-overlay.png') });
    await page.close();
  }, 60_000);

  it('works without JavaScript: the plain POST lands on a task page that refreshes itself to SUCCESS', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${gateway.url}/upload`);
    await page.getByLabel(/Item A/).fill('Bosch Serie 6 washing machine 9kg');
    await page.getByLabel(/Item B/).fill('Bosch');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.waitForURL(/\/prediction\/tasks\/[0-9a-f-]{36}$/);
    await page.getByText('SUCCESS', { exact: true }).first().waitFor({ timeout: 20_000 });
    expect(await page.content()).toContain('Home Appliances');
    await context.close();
  }, 40_000);
});

import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from '../support/browser.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { testStack } from '../support/stack.js';
import type { DashboardData } from '../../gateway/routes/dashboard-data.js';

/**
 * Finding your way as a new user: the task comes into view after submit, the Tasks page lists it,
 * its page shows everything and can cancel it; a failed task has no dead link; errors are pages
 * with a way back; all of it without JavaScript too. And the dashboard of a healthy system raises
 * no alarm.
 */
const stack = testStack('tasks-page', { WORKER_PROCESSORS: 'categorize,document,ical,thumbnail,echo', DEFAULT_PROCESSOR: 'echo' });
let worker: WarrenProcess;
let gateway: Gateway;
let browser: Browser;
let closeBrowser: () => Promise<void>;

const TASK_PAGE = /\/prediction\/tasks\/([0-9a-f-]{36})$/;

/** A phone-sized window: the task panel starts below the fold. */
async function smallPage(javaScriptEnabled = true): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled, viewport: { width: 400, height: 600 } });
  return context.newPage();
}

async function submitEcho(page: Page, fields: { sleep?: string; fail?: string }): Promise<void> {
  await page.goto(`${gateway.url}/upload?processor=echo`);
  if (fields.sleep) await page.getByLabel(/Sleep ms/i).fill(fields.sleep);
  if (fields.fail) await page.getByLabel(/^Fail/i).fill(fields.fail);
  await page.getByRole('button', { name: 'Submit' }).click();
}

/** Every link on the page answers without an error (as the browser would follow it). */
async function expectNoDeadLinks(page: Page): Promise<void> {
  // Strings, not functions: they run in the page, and this project's types have no DOM.
  const hrefs = await page.evaluate<string[]>('Array.from(document.querySelectorAll("a[href]"), (a) => a.href)');
  for (const href of new Set(hrefs)) {
    if (href.endsWith('#main')) continue;
    const response = await page.request.get(href, { headers: { Accept: 'text/html' } });
    expect(response.status(), href).toBeLessThan(400);
  }
}

describe.skipIf(!browserAvailable)('the Tasks page and the task page in a browser', () => {
  beforeAll(async () => {
    [worker, gateway, { browser, close: closeBrowser }] = await Promise.all([stack.worker(), stack.gateway(), launchBrowser()]);
    await worker.waitForLog((line) => line.msg === 'processor ready' && line.processor === 'document', 60_000);
  }, 90_000);

  afterAll(async () => {
    await closeBrowser?.();
    await stack.stop();
  });

  // First, while the system is fresh: nothing has failed yet.
  it('shows no warning on the dashboard of a fresh start with one worker', async () => {
    // The worker's consumers come up processor by processor: wait for the last, then look.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const data = (await (await fetch(`${gateway.url}/dashboard.json`)).json()) as DashboardData;
      if (!data.broker.reachable) throw new Error(data.broker.problem);
      const idle = data.broker.queues.filter((q) => q.role === 'work' && q.consumers === 0);
      if (idle.length === 0) break;
      if (Date.now() > deadline) throw new Error(`queues without consumers: ${idle.map((q) => q.name).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const page = await browser.newPage();
    await page.goto(`${gateway.url}/dashboard`);
    expect(await page.locator('.badge--warn, .alert').count()).toBe(0);
    await page.locator('.all-clear').waitFor();
    // The revocations stream is read by the worker, and is not reported as having no consumer. (The
    // queue table is folded while all is well: its text is there, not shown.)
    expect(await page.locator('details').last().getAttribute('open')).toBeNull();
    expect(await page.locator('tr', { hasText: `${stack.prefix}.revocations` }).textContent()).toContain('not reported');
    // The operator's first look is at what needs attention; the queue table comes last.
    const headings = await page.locator('main h2').allInnerTexts();
    expect(headings.indexOf('Needs attention')).toBeLessThan(headings.findIndex((h) => h.startsWith('Queues')));
    expect(headings.findIndex((h) => h.startsWith('Recent tasks'))).toBeLessThan(headings.findIndex((h) => h.startsWith('Queues')));
    await page.screenshot({ path: path.join(os.tmpdir(), 'warren-dashboard-healthy.png'), fullPage: true });
    await page.close();
  }, 60_000);

  it('brings the submitted task into view, lists it on the Tasks page reached by the nav, and opens it', async () => {
    const page = await smallPage();
    await submitEcho(page, { sleep: '200' });
    await page.locator('#task [data-field="status"]', { hasText: 'SUCCESS' }).waitFor({ timeout: 20_000 });
    const taskId = await page.locator('#task [data-field="task-id"]').innerText();
    const inView = () =>
      page.evaluate<boolean>(
        '(() => { const panel = document.getElementById("task"); const box = panel.getBoundingClientRect(); return box.top >= 0 && box.top < window.innerHeight && document.activeElement === panel; })()',
      );
    await expect.poll(inView).toBe(true);

    await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: 'Tasks' }).click();
    await page.waitForURL(/\/prediction\/tasks$/);
    await page.locator(`a.task-link[title="${taskId}"]`).click();
    await page.waitForURL(TASK_PAGE);
    expect(await page.locator('main').innerText()).toContain('SUCCESS');
    // The input it was submitted with is shown.
    expect(await page.locator('.task-input').innerText()).toContain('sleep_ms');
    await expectNoDeadLinks(page);
    await page.context().close();
  }, 40_000);

  it('filters the Tasks page by status and processor', async () => {
    const page = await browser.newPage();
    await page.goto(`${gateway.url}/tasks`);
    await page.locator('select[name="status"]').selectOption('SUCCESS');
    await page.locator('select[name="processor"]').selectOption('echo');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/status=SUCCESS&processor=echo/);
    const statuses = await page.locator('.task-table tbody .badge').allInnerTexts();
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(['SUCCESS']));
    await page.screenshot({ path: path.join(os.tmpdir(), 'warren-tasks-page.png'), fullPage: true });
    await page.close();
  }, 20_000);

  it('shows a categorization as the form does: a table, most likely first', async () => {
    const page = await browser.newPage();
    await page.goto(`${gateway.url}/upload?processor=categorize`);
    await page.getByLabel(/Item A/).fill('Galaxy S23 Ultra 256GB');
    await page.getByLabel(/Item B/).fill('Samsung');
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.locator('#task [data-field="status"]', { hasText: 'SUCCESS' }).waitFor({ timeout: 20_000 });
    await page.locator('#task [data-field="page-link"]').click();
    await page.waitForURL(TASK_PAGE);
    await expect.poll(() => page.locator('.result-table tr.best td').first().innerText()).toBe('Smartphones');
    await page.close();
  }, 40_000);

  it('draws the OCR word boxes over the uploaded image on the task page, as the form does', async () => {
    const page = await browser.newPage();
    await page.goto(`${gateway.url}/upload?processor=document`);
    await page.locator('input[type="file"]').setInputFiles(path.resolve('test/fixtures/invoice.png'));
    await page.getByRole('button', { name: 'Submit' }).click();
    await page.locator('#task [data-field="status"]', { hasText: 'SUCCESS' }).waitFor({ timeout: 30_000 });
    await page.locator('#task [data-field="page-link"]').click();
    await page.waitForURL(TASK_PAGE);
    await expect.poll(() => page.locator('.ocr-frame .ocr-box').count()).toBeGreaterThan(3);
    await page.screenshot({ path: path.join(os.tmpdir(), 'warren-task-page-ocr.png'), fullPage: true });
    // The uploaded file is listed and served back (inline: it is a PNG).
    const upload = await page.request.get(
      await page
        .locator('.task-input a', { hasText: 'invoice' })
        .getAttribute('href')
        .then((href) => new URL(href!, page.url()).href),
    );
    expect(upload.status()).toBe(200);
    expect(upload.headers()['content-type']).toBe('image/png');
    await expectNoDeadLinks(page);
    await page.close();
  }, 60_000);

  it('cancels a running task from its page', async () => {
    const page = await browser.newPage();
    await submitEcho(page, { sleep: '60000' });
    await page.locator('#task [data-field="status"]', { hasText: 'STARTED' }).waitFor({ timeout: 20_000 });
    await page.locator('#task [data-field="page-link"]').click();
    await page.waitForURL(TASK_PAGE);
    await page.getByRole('button', { name: 'Cancel task' }).click();
    await page.waitForURL(TASK_PAGE);
    await page.locator('main .badge', { hasText: 'REVOKED' }).waitFor({ timeout: 10_000 });
    expect(await page.getByRole('button', { name: 'Cancel task' }).count()).toBe(0);
    await expectNoDeadLinks(page);
    await page.close();
  }, 40_000);

  it('shows a failed task with its error and without a Result link', async () => {
    const page = await browser.newPage();
    await submitEcho(page, { fail: 'the model refused' });
    await page.locator('#task [data-field="status"]', { hasText: 'FAILURE' }).waitFor({ timeout: 20_000 });
    await page.locator('#task [data-field="page-link"]').click();
    await page.waitForURL(TASK_PAGE);
    expect(await page.locator('.error-box').innerText()).toContain('the model refused');
    expect(await page.getByRole('link', { name: 'Result' }).count()).toBe(0);
    await page.screenshot({ path: path.join(os.tmpdir(), 'warren-task-page-failed.png'), fullPage: true });
    await expectNoDeadLinks(page);
    await page.close();
  }, 40_000);

  it('works without JavaScript: submit, find it on the Tasks page, cancel it, and errors are pages with a way back', async () => {
    const page = await smallPage(false);
    await submitEcho(page, { sleep: '60000' });
    await page.waitForURL(TASK_PAGE);
    const taskId = TASK_PAGE.exec(page.url())![1]!;
    await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: 'Tasks' }).click();
    await page.locator(`a.task-link[title="${taskId}"]`).click();
    await page.waitForURL(TASK_PAGE);
    await page.getByRole('button', { name: 'Cancel task' }).click();
    await page.waitForURL(TASK_PAGE);
    await page.locator('main .badge', { hasText: 'REVOKED' }).waitFor({ timeout: 10_000 });

    const unknown = await page.goto(`${gateway.url}/tasks/00000000-0000-4000-8000-000000000000`);
    expect(unknown?.status()).toBe(404);
    expect(unknown?.headers()['content-type']).toMatch(/^text\/html/);
    await page.screenshot({ path: path.join(os.tmpdir(), 'warren-error-page.png'), fullPage: true });
    await page.getByRole('link', { name: 'Your tasks' }).click();
    await page.waitForURL(/\/prediction\/tasks$/);
    await page.context().close();
  }, 40_000);

  it('keeps answering API clients with JSON: the task list, and errors in the envelope', async () => {
    const list = await fetch(`${gateway.url}/tasks?limit=2`);
    expect(list.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await list.json()) as { tasks: { task_id: string }[]; next_url: string | null };
    expect(body.tasks).toHaveLength(2);
    const next = await fetch(`${gateway.url.replace(/\/prediction$/, '')}${body.next_url!}`);
    const older = (await next.json()) as { tasks: { task_id: string }[] };
    expect(older.tasks.map((t) => t.task_id)).not.toContain(body.tasks[0]!.task_id);
    const missing = await fetch(`${gateway.url}/tasks/00000000-0000-4000-8000-000000000000`);
    expect(await missing.json()).toMatchObject({ error: { code: 'task_not_found' } });
    const bad = await fetch(`${gateway.url}/tasks?cursor=nonsense`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_query' } });
  });
});

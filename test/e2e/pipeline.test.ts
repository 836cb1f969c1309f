import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitForm, submitJson, waitForTerminal, type Submitted } from '../support/client.js';
import { runPollingClients } from '../support/polling-clients.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/**
 * The whole pipeline through HTTP with real processes: one worker, two gateways sharing one
 * SQLite file, the shared RabbitMQ under a prefix of this run's own.
 */
const stack = testStack('e2e', { MAX_FIELD_BYTES: '1024' });
let worker: WarrenProcess;
let gatewayA: Gateway;
let gatewayB: Gateway;

beforeAll(async () => {
  [worker, gatewayA, gatewayB] = await Promise.all([stack.worker(), stack.gateway(), stack.gateway()]);
});

afterAll(() => stack.stop());

describe('the task pipeline, end to end', () => {
  it('answers liveness on echo', async () => {
    const response = await fetch(`${gatewayA.url}/echo`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', service: 'warren' });
  });

  it('accepts a form-encoded submit with 202 and a Location, and the task reaches SUCCESS with its result', async () => {
    const response = await submitForm(gatewayA.url, { item_a: 'TV', item_b: 'Samsung' });
    expect(response.status).toBe(202);
    const submitted = (await response.json()) as Submitted;
    expect(submitted.status).toBe('PENDING');
    expect(response.headers.get('location')).toBe(submitted.status_url);

    const status = await waitForTerminal(gatewayA.url, submitted.task_id);
    expect(status).toMatchObject({ status: 'SUCCESS', processor: 'echo', attempts: 1, error: null });
    expect(Date.parse(String(status.finished_at))).toBeGreaterThanOrEqual(Date.parse(String(status.created_at)));

    const result = await fetch(`${gatewayB.url}/task_result/${submitted.task_id}`);
    expect(result.status).toBe(200);
    expect(await result.json()).toEqual({ fields: { item_a: 'TV', item_b: 'Samsung' }, files: [] });
  });

  it('accepts JSON and multipart submissions too', async () => {
    const json = await submitJson(gatewayA.url, { processor: 'echo', item_a: 'Laptop', n: 3 });
    expect(json.status).toBe(202);
    const form = new FormData();
    form.set('item_a', 'Phone');
    const multipart = await fetch(`${gatewayB.url}/uploader`, { method: 'POST', body: form });
    expect(multipart.status).toBe(202);

    for (const [response, fields] of [
      [json, { item_a: 'Laptop', n: 3 }],
      [multipart, { item_a: 'Phone' }],
    ] as const) {
      const { task_id } = (await response.json()) as Submitted;
      expect((await waitForTerminal(gatewayA.url, task_id)).status).toBe('SUCCESS');
      expect(await (await fetch(`${gatewayA.url}/task_result/${task_id}`)).json()).toEqual({ fields, files: [] });
    }
  });

  it('answers task_result with 409 and the status while the task is unfinished', async () => {
    const { task_id } = (await (await submitForm(gatewayA.url, { sleep_ms: '1500' })).json()) as Submitted;
    const early = await fetch(`${gatewayB.url}/task_result/${task_id}`);
    expect(early.status).toBe(409);
    expect(early.headers.get('retry-after')).toBe('1');
    const body = (await early.json()) as { error: { code: string; status: string } };
    expect(body.error.code).toBe('task_not_ready');
    expect(['PENDING', 'STARTED']).toContain(body.error.status);
    expect((await waitForTerminal(gatewayB.url, task_id)).status).toBe('SUCCESS');
  });

  it('records FAILURE with the message when a processor throws, and the worker lives on', async () => {
    const { task_id } = (await (await submitForm(gatewayA.url, { fail: 'the model fell over' })).json()) as Submitted;
    const status = await waitForTerminal(gatewayA.url, task_id);
    expect(status).toMatchObject({ status: 'FAILURE', error: { code: 'echo_failed', message: 'the model fell over' } });

    const result = await fetch(`${gatewayA.url}/task_result/${task_id}`);
    expect(result.status).toBe(409);
    expect(await result.json()).toMatchObject({ error: { code: 'task_failed', task_error: { message: 'the model fell over' } } });

    const next = (await (await submitForm(gatewayA.url, { item_a: 'after' })).json()) as Submitted;
    expect((await waitForTerminal(gatewayA.url, next.task_id)).status).toBe('SUCCESS');
    expect(worker.child.exitCode).toBeNull();
  });

  it('task_status returns 404 for an unknown id, never PENDING', async () => {
    const response = await fetch(`${gatewayA.url}/task_status/6f1c1d2e-1111-4aaa-8bbb-123456789abc`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'task_not_found', message: expect.any(String) } });
  });

  it('sends a browser posting the plain form to a page that shows the task', async () => {
    const response = await fetch(`${gatewayA.url}/uploader`, {
      method: 'POST',
      body: new URLSearchParams({ item_a: 'TV', item_b: 'Samsung' }),
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    const page = response.headers.get('location')!;
    expect(page).toMatch(/^\/prediction\/tasks\/[0-9a-f-]{36}$/);
    const taskId = page.split('/').pop()!;
    await waitForTerminal(gatewayA.url, taskId);
    const html = await (await fetch(new URL(page, gatewayA.url))).text();
    expect(html).toContain('SUCCESS');
    expect(html).toContain('Samsung');
  });

  it('serves the upload form', async () => {
    const response = await fetch(`${gatewayB.url}/upload`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    const html = await response.text();
    expect(html).toMatch(/<form[^>]+action="\/prediction\/uploader"/);
    expect(html).toContain('name="item_a"');
    expect(html).toContain('name="item_b"');
  });
});

describe('malformed requests get a 4xx with the error envelope', () => {
  const cases: [string, () => Promise<Response>, number, string][] = [
    [
      'bad JSON',
      () => fetch(`${gatewayA.url}/uploader`, { method: 'POST', body: '{"item_a": ', headers: { 'content-type': 'application/json' } }),
      400,
      'invalid_body',
    ],
    ['a JSON array', () => submitJson(gatewayA.url, ['echo']), 400, 'invalid_body'],
    ['an unknown processor', () => submitForm(gatewayA.url, { processor: 'nope', item_a: 'x' }), 400, 'unknown_processor'],
    ['an oversized field', () => submitForm(gatewayA.url, { item_a: 'x'.repeat(2048) }), 413, 'field_too_large'],
    [
      'an oversized multipart field',
      () => {
        const form = new FormData();
        form.set('item_a', 'x'.repeat(2048));
        return fetch(`${gatewayA.url}/uploader`, { method: 'POST', body: form });
      },
      413,
      'too_large',
    ],
    ['no content type', () => fetch(`${gatewayA.url}/uploader`, { method: 'POST' }), 415, 'unsupported_media_type'],
    [
      'text/plain',
      () => fetch(`${gatewayA.url}/uploader`, { method: 'POST', body: 'item_a=x', headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    ],
    [
      'broken multipart',
      () =>
        fetch(`${gatewayA.url}/uploader`, {
          method: 'POST',
          body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nva',
          headers: { 'content-type': 'multipart/form-data; boundary=x' },
        }),
      400,
      'invalid_multipart',
    ],
    [
      'a file where none is taken',
      () => {
        const form = new FormData();
        form.set('doc', new Blob(['hello']), 'hello.txt');
        return fetch(`${gatewayA.url}/uploader`, { method: 'POST', body: form });
      },
      400,
      'unexpected_file',
    ],
    [
      'a repeated field',
      () => fetch(`${gatewayA.url}/uploader`, { method: 'POST', body: 'item_a=1&item_a=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      400,
      'repeated_field',
    ],
    ['a malformed task id', () => fetch(`${gatewayA.url}/task_status/not-a-uuid`), 400, 'invalid_task_id'],
    ['a path-traversal task id', () => fetch(`${gatewayA.url}/task_result/..%2F..%2Fetc%2Fpasswd`), 400, 'invalid_task_id'],
    ['an unknown route', () => fetch(`${gatewayA.url}/nowhere`), 404, 'not_found'],
  ];

  it.each(cases)('%s', async (_name, send, status, code) => {
    const response = await send();
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message).toBeTypeOf('string');
    expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/);
  });
});

describe('the original system’s failure, as a regression', () => {
  // The Celery rpc result backend delivered each result to whichever poller asked first, so with
  // concurrent clients results vanished. Here every poll may land on either gateway process.
  it('keeps every status consistent and every result retrievable with 32 clients polling two gateways', async () => {
    const clients = 32;
    const tasksPerClient = 32;
    const { problems, finished } = await runPollingClients([gatewayA.url, gatewayB.url], clients, tasksPerClient);
    expect(problems).toEqual([]);
    expect(finished).toBe(clients * tasksPerClient);
  }, 120_000);
});

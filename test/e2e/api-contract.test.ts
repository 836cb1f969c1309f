import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenApiValidator } from '../support/api-docs.js';
import { waitForTerminal, type Submitted } from '../support/client.js';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/**
 * Live answers of a real gateway (with a worker serving echo) against the OpenAPI document that
 * gateway publishes. Each answer's status and content type must be documented for its route, and
 * its JSON body must fit the documented schema with every object closed: a field the code sends
 * but the document omits fails here, as does a documented field the code stopped sending.
 */
const stack = testStack('contract', {});
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
let gateway: Gateway;
let api: OpenApiValidator;

beforeAll(async () => {
  [, gateway] = await Promise.all([stack.worker(), stack.gateway()]);
  const response = await fetch(`${gateway.url}/openapi.json`);
  expect(response.status).toBe(200);
  api = new OpenApiValidator((await response.json()) as Record<string, unknown>);
});

afterAll(() => stack.stop());

/** Fetch `{base}{url}` and check the answer against the documented operation; returns the JSON body. */
async function call(template: string, url: string, init: RequestInit = {}): Promise<{ response: Response; body: unknown }> {
  const response = await fetch(`${gateway.url}${url}`, init);
  const text = await response.text();
  const body: unknown = response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text;
  api.check(template, (init.method ?? 'GET').toLowerCase(), response, body);
  return { response, body };
}

/** An error answer: documented, an envelope, and its code among those listed for that status. */
async function expectError(template: string, url: string, status: number, code: string, init: RequestInit = {}): Promise<void> {
  const { response, body } = await call(template, url, init);
  expect(response.status).toBe(status);
  expect((body as { error: { code: string } }).error.code).toBe(code);
  expect(String(api.response(template, (init.method ?? 'GET').toLowerCase(), status).description)).toContain(`\`${code}\``);
}

describe('live answers fit the published OpenAPI document', () => {
  it('health, liveness and the processor catalog', async () => {
    expect((await call('/echo', '/echo')).response.status).toBe(200);
    expect((await call('/health/ready', '/health/ready')).response.status).toBe(200);
    const { response, body } = await call('/processors', '/processors');
    expect(response.status).toBe(200);
    expect((body as { default: string }).default).toBe('echo');
  });

  it('a submit (202) and the task status while PENDING and after SUCCESS', async () => {
    // No worker serves categorize here, so its task stays PENDING for as long as the test looks.
    const pending = await call('/uploader', '/uploader', json({ processor: 'categorize', item_a: 'Galaxy S23', item_b: 'Samsung' }));
    expect(pending.response.status).toBe(202);
    const waiting = (pending.body as Submitted).task_id;
    const status = await call('/task_status/{id}', `/task_status/${waiting}`);
    expect((status.body as { status: string }).status).toBe('PENDING');
    await expectError('/task_result/{id}', `/task_result/${waiting}`, 409, 'task_not_ready');

    const done = await call('/uploader', '/uploader', json({ processor: 'echo', item_a: 'TV', n: 3 }));
    expect(done.response.status).toBe(202);
    const { task_id } = done.body as Submitted;
    expect((await waitForTerminal(gateway.url, task_id)).status).toBe('SUCCESS');
    const success = await call('/task_status/{id}', `/task_status/${task_id}`);
    expect((success.body as { status: string }).status).toBe('SUCCESS');
    expect((await call('/task_result/{id}', `/task_result/${task_id}`)).response.status).toBe(200);
    const listing = await call('/task_result/{id}', `/task_result/${task_id}?format=json`);
    expect(listing.body).toEqual({ result: { fields: { item_a: 'TV', n: 3 }, files: [] }, artifacts: [] });
    // The JSON answer documented as "the result or an ArtifactListing" is checked against the listing too.
    expect(api.validator({ $ref: '#/components/schemas/ArtifactListing' })(listing.body)).toBe(true);
  });

  it('a submit that finishes while the client waits (Prefer: wait)', async () => {
    const { response, body } = await call('/uploader', '/uploader', json({ processor: 'echo', item_a: 'quick' }, { prefer: 'wait=10' }));
    expect(response.status).toBe(200);
    expect(body).toMatchObject({ status: 'SUCCESS', result: { fields: { item_a: 'quick' }, files: [] } });
  });

  it('a repeated Idempotency-Key: 202 with the task as it is now (Idempotent-Replayed), 409 for a different request', async () => {
    const key = { 'idempotency-key': `contract-${UNKNOWN_ID}-${Date.now()}` };
    const first = await call('/uploader', '/uploader', json({ processor: 'echo', item_a: 'once' }, key));
    const { task_id } = first.body as Submitted;
    expect((await waitForTerminal(gateway.url, task_id)).status).toBe('SUCCESS');
    const replay = await call('/uploader', '/uploader', json({ processor: 'echo', item_a: 'once' }, key));
    expect(replay.response.status).toBe(202);
    expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toMatchObject({ task_id, status: 'SUCCESS' });
    expect(api.response('/uploader', 'post', 202).headers).toHaveProperty('Idempotent-Replayed');
    await expectError('/uploader', '/uploader', 409, 'idempotency_key_reused', json({ processor: 'echo', item_a: 'twice' }, key));
  });

  it('error envelopes', async () => {
    await expectError('/task_status/{id}', `/task_status/${UNKNOWN_ID}`, 404, 'task_not_found');
    await expectError('/task_status/{id}', '/task_status/not-a-uuid', 400, 'invalid_task_id');
    await expectError('/task_result/{id}', `/task_result/${UNKNOWN_ID}`, 404, 'task_not_found');
    await expectError('/uploader', '/uploader', 400, 'unknown_processor', json({ processor: 'nope' }));
    await expectError('/uploader', '/uploader', 400, 'invalid_body', { method: 'POST', body: '{', headers: { 'content-type': 'application/json' } });
    await expectError('/uploader', '/uploader', 415, 'unsupported_media_type', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
    await expectError('/upload/fields', '/upload/fields?processor=nope', 404, 'unknown_processor');
  });

  it('pages and documents', async () => {
    expect((await call('/upload', '/upload')).response.status).toBe(200);
    expect((await call('/upload/fields', '/upload/fields?processor=echo')).response.status).toBe(200);
    expect((await call('/static/{file}', '/static/warren.css')).response.status).toBe(200);
    expect((await call('/asyncapi.json', '/asyncapi.json')).body).toMatchObject({
      asyncapi: '3.0.0',
      channels: { 'taskQueue.echo': { address: `${stack.prefix}.tasks.echo` } },
    });
  });
});

function json(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', accept: 'application/json', ...headers } };
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRabbitmq, startNode, type NodeHandle } from '../../scripts/ensure-broker.js';
import { submitForm, waitForTerminal, type Submitted } from '../support/client.js';
import { freeBrokerPorts } from '../support/ports.js';
import type { Gateway } from '../support/processes.js';
import { testStack, type TestStack } from '../support/stack.js';

/**
 * A broker outage, on a RabbitMQ node of this test's own (never the machine's shared broker):
 * while it is down, submits get 503 fast and status reads still work from the store; when it is
 * back (the same node, the same data), gateway and worker reconnect by themselves and every task
 * accepted before the outage finishes.
 */
const binaries = findRabbitmq();
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-outage-'));
let port: number;
let node: NodeHandle | undefined;
let stack: TestStack;
let gateway: Gateway;

const boot = (): Promise<NodeHandle> => startNode({ ...binaries!, host: '127.0.0.1', port, base, nodeName: `warren-outage-${port}@localhost`, log: () => {} });

beforeAll(async () => {
  if (!binaries) return;
  [port] = (await freeBrokerPorts(1)) as [number];
  node = await boot();
  stack = testStack('outage', { AMQP_URL: `amqp://guest:guest@127.0.0.1:${port}`, PUBLISH_TIMEOUT_MS: '2000' }, { ownBroker: true });
  [gateway] = await Promise.all([stack.gateway(), stack.worker()]);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await node?.stop();
  fs.rmSync(base, { recursive: true, force: true });
}, 120_000);

describe.skipIf(!binaries)('a broker outage', () => {
  it('answers submits 503 fast while the broker is down, keeps answering status, reconnects by itself, and loses nothing accepted', async () => {
    // Accepted, but queued behind a worker that is still busy when the broker goes.
    const accepted: string[] = [];
    for (let n = 0; n < 5; n += 1) {
      const response = await submitForm(gateway.url, { sleep_ms: '300', item_a: `before ${n}` });
      expect(response.status).toBe(202);
      accepted.push(((await response.json()) as Submitted).task_id);
    }

    await node!.stop();
    node = undefined;

    const began = Date.now();
    const refused = await submitForm(gateway.url, { item_a: 'during the outage' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('broker_unavailable');
    expect(Date.now() - began).toBeLessThan(3000);
    const status = await fetch(`${gateway.url}/task_status/${accepted[0]}`);
    expect(status.status).toBe(200);
    expect((await fetch(`${gateway.url}/health/ready`)).status).toBe(503);

    node = await boot();
    for (const id of accepted) expect((await waitForTerminal(gateway.url, id, 60_000)).status).toBe('SUCCESS');
    const after = await submitForm(gateway.url, { item_a: 'after the outage' });
    expect(after.status).toBe(202);
    expect((await waitForTerminal(gateway.url, ((await after.json()) as Submitted).task_id, 30_000)).status).toBe('SUCCESS');
  }, 150_000);
});

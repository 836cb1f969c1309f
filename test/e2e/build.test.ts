import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { deletePrefix, TEST_AMQP_URL, uniquePrefix } from '../support/broker.js';
import { submitForm, waitForTerminal, type Submitted } from '../support/client.js';
import { startGateway, startWorker, type WarrenProcess } from '../support/processes.js';

/**
 * The Docker images' build, run outside Docker (there is no engine here): the Dockerfile's build
 * stage runs `npm ci` and `npm run build`, and the images run `node dist/gateway/main.js` and
 * `node dist/worker/main.js`. The same build here must give a gateway that answers and serves the
 * form's assets, and a worker that loads the categorizer's model — files tsc does not emit.
 */
const prefix = uniquePrefix();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-build-'));
const env = {
  AMQP_URL: TEST_AMQP_URL,
  AMQP_PREFIX: prefix,
  DATA_DIR: dataDir,
  NODE_ENV: 'production',
  WORKER_PROCESSORS: 'categorize',
  RETRY_DELAYS_MS: '1000',
};
const started: WarrenProcess[] = [];

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  await deletePrefix(prefix);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the images’ build steps', () => {
  it('npm run build gives a dist/ whose gateway answers /echo and serves the form, and whose worker categorizes', async () => {
    const root = path.resolve(import.meta.dirname, '../..');
    await promisify(execFile)('npm', ['run', 'build'], { cwd: root, timeout: 90_000 });

    const [gateway, worker] = await Promise.all([startGateway(env, 'dist/gateway/main.js'), startWorker(env, 'dist/worker/main.js')]);
    started.push(gateway, worker);
    expect(await (await fetch(`${gateway.url}/echo`)).json()).toEqual({ status: 'ok', service: 'warren' });
    const css = await fetch(`${gateway.url}/static/warren.css`);
    expect([css.status, css.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);

    const response = await submitForm(gateway.url, { processor: 'categorize', item_a: 'Galaxy S23 Ultra 256GB', item_b: 'Samsung' });
    expect(response.status).toBe(202);
    const { task_id } = (await response.json()) as Submitted;
    expect((await waitForTerminal(gateway.url, task_id, 20_000)).status).toBe('SUCCESS');
  }, 120_000);
});

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { submitForm, waitForTerminal, type Submitted } from '../support/client.js';
import { freeBrokerPorts, freePort, portIsFree } from '../support/ports.js';

/**
 * The README's run command, as a new user runs it, on a machine where no broker answers at
 * AMQP_URL: `npm start` must start its own RabbitMQ node (own name, ports, data dir — never the
 * shared broker), serve the form, run a task, and stop everything it started on Ctrl-C.
 */
const rabbitmqInstalled = ['/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/sbin/rabbitmq-server'].some((file) => fs.existsSync(file));
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-start-'));

afterAll(async () => {
  await stopLeftoverNode();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/**
 * If `npm start` failed to stop the RabbitMQ node it started (the test failed half-way), stop it
 * here by the PID the node wrote into DATA_DIR — before DATA_DIR is removed from under it.
 */
async function stopLeftoverNode(): Promise<void> {
  const base = path.join(dataDir, 'rabbitmq');
  const pidFiles = fs.existsSync(base) ? fs.readdirSync(base).filter((name) => name.endsWith('.pid')) : [];
  for (const file of pidFiles) {
    const pid = Number(fs.readFileSync(path.join(base, file), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    for (let waited = 0; waited < 30_000 && alive(pid); waited += 200) await new Promise((resolve) => setTimeout(resolve, 200));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start', () => {
  it.skipIf(!rabbitmqInstalled)(
    'starts its own broker when none answers, serves the form, runs a task, and stops it all on Ctrl-C',
    async () => {
      const [amqpPort] = await freeBrokerPorts(1);
      const httpPort = await freePort();
      const start = spawn('npm', ['start'], {
        env: {
          ...process.env,
          AMQP_URL: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
          PORT: String(httpPort),
          DATA_DIR: dataDir,
          LOG_LEVEL: 'info',
          SHUTDOWN_GRACE_MS: '10000',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group, so Ctrl-C can be sent the way a terminal sends it
      });
      const output: string[] = [];
      const formLine = new Promise<string>((resolve) => {
        for (const stream of [start.stdout!, start.stderr!]) {
          readline.createInterface({ input: stream }).on('line', (line) => {
            output.push(line);
            if (line.includes('upload form: ')) resolve(line);
          });
        }
      });
      const exited = once(start, 'exit');
      try {
        const line = await Promise.race([formLine, exited.then(() => Promise.reject(new Error(`npm start exited:\n${output.join('\n')}`)))]);
        const base = `http://127.0.0.1:${httpPort}/prediction`;
        expect(line).toContain(`${base}/upload`);

        // The gateway may still be binding when the line is printed; wait for readiness (bounded).
        const deadline = Date.now() + 30_000;
        while (
          (await fetch(`${base}/health/ready`).then(
            (r) => r.status,
            () => 0,
          )) !== 200
        ) {
          if (Date.now() > deadline) throw new Error(`gateway never became ready:\n${output.slice(-20).join('\n')}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        expect((await fetch(`${base}/upload`)).status).toBe(200);
        const response = await submitForm(base, { item_a: 'TV', item_b: 'Samsung' });
        expect(response.status).toBe(202);
        const { task_id } = (await response.json()) as Submitted;
        expect((await waitForTerminal(base, task_id, 20_000)).status).toBe('SUCCESS');
      } finally {
        if (start.exitCode === null) process.kill(-start.pid!, 'SIGINT');
        await exited;
      }
      // npm's own exit on Ctrl-C varies (0, 130, or the signal, depending on which process the
      // terminal's signal reaches first); what counts is that `npm start` stops everything it
      // started: its last word is the broker it started, stopped. Its own worst case is the grace
      // period (10 s here) plus the broker's 60 s stop timeout.
      const deadline = Date.now() + 90_000;
      while (!output.some((line) => /RabbitMQ: node warren-\d+@localhost stopped/.test(line))) {
        if (Date.now() > deadline) throw new Error(`npm start did not stop its broker:\n${output.slice(-20).join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(output.join('\n')).not.toMatch(/unexpectedly|shutdown failed|outlived the grace period/);
      // Everything it started is gone: the broker's port is free again (it may take a moment to close).
      for (let waited = 0; waited < 10_000 && !(await portIsFree(amqpPort)); waited += 200) await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await portIsFree(amqpPort)).toBe(true);
      expect(await portIsFree(httpPort)).toBe(true);
    },
    200_000,
  );
});

import { describe, expect, it } from 'vitest';
import { startProcess } from '../support/processes.js';

describe('a bad configuration stops the process with a message naming the variable', () => {
  it.each([
    ['gateway/main.ts', { PORT: 'abc' }, /bad configuration: PORT: "abc" is not a whole number/],
    ['gateway/main.ts', { AMQP_URL: 'http://broker' }, /bad configuration: AMQP_URL:/],
    ['worker/main.ts', { WORKER_PROCESSORS: 'echo,nope' }, /bad configuration: WORKER_PROCESSORS: unknown processor "nope"/],
    ['worker/main.ts', { PROCESSOR_CONCURRENCY: 'echo:2,nope:2' }, /bad configuration: PROCESSOR_CONCURRENCY: unknown processor "nope"/],
  ] as const)('%s with %j', async (entry, env, message) => {
    const child = startProcess(entry, { ...env });
    expect(await child.exited).toBe(2);
    expect(child.logs.map((line) => String(line.msg)).join('\n')).toMatch(message);
  });
});

describe('a gateway whose PostgreSQL store cannot be opened', () => {
  it('exits 1 with a log line naming the store, never its password', async () => {
    const child = startProcess('gateway/main.ts', { STORE_URL: 'postgres://warren:hunter2@127.0.0.1:1/warren', PORT: '0', AMQP_PREFIX: 'test-unused' });
    expect(await child.exited).toBe(1);
    expect(child.logs.find((line) => line.msg === 'could not open the task store')).toMatchObject({
      err: { message: expect.stringContaining('postgres://warren:***@127.0.0.1:1/warren') },
    });
    expect(JSON.stringify(child.logs)).not.toContain('hunter2');
  });
});

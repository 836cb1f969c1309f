import { describe, expect, it } from 'vitest';
import { startProcess } from '../support/processes.js';

describe('a bad configuration stops the process with a message naming the variable', () => {
  it.each([
    ['gateway/main.ts', { PORT: 'abc' }, /bad configuration: PORT: "abc" is not a whole number/],
    ['gateway/main.ts', { AMQP_URL: 'http://broker' }, /bad configuration: AMQP_URL:/],
    ['worker/main.ts', { WORKER_PROCESSORS: 'echo,nope' }, /bad configuration: WORKER_PROCESSORS: unknown processor "nope"/],
  ] as const)('%s with %j', async (entry, env, message) => {
    const child = startProcess(entry, { ...env });
    expect(await child.exited).toBe(2);
    expect(child.logs.map((line) => String(line.msg)).join('\n')).toMatch(message);
  });
});

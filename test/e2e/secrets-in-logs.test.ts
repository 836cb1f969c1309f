import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/index.js';
import { TEST_AMQP_URL } from '../support/broker.js';
import { startProcess, type WarrenProcess } from '../support/processes.js';
import { FORMS, leaks, NASTY_PASSWORDS } from '../support/secrets.js';
import { testStack, type TestStack } from '../support/stack.js';

/**
 * Real processes given URLs whose passwords are built to break redaction, read back through
 * everything they print: the broker's "connection failed" and "connected" lines, the store's
 * open error with its cause, and configuration complaints. No form of the password may be in it.
 */
const written = NASTY_PASSWORDS.flatMap((password) => Object.entries(FORMS).map(([form, write]) => ({ password, form, text: write(password) })));
const everything = (logs: Record<string, unknown>[]): string => logs.map((line) => JSON.stringify(line)).join('\n');
const stacks: TestStack[] = [];

/** The exit code, or 'still running' (and then killed) if the process did not end within `ms`. */
async function exitWithin(child: WarrenProcess, ms: number): Promise<number | null | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([child.exited, new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), ms)))]);
  clearTimeout(timer);
  if (outcome === 'still running') await child.stop('SIGKILL');
  return outcome;
}

afterAll(async () => {
  await Promise.all(stacks.map((stack) => stack.stop()));
});

describe('a gateway whose broker URLs hold nasty passwords', () => {
  it('logs every failed attempt, and the connection that works, without any form of a password', async () => {
    const broker = new URL(TEST_AMQP_URL);
    const nasty = written
      // Percent-encoded to the real broker (it refuses the password: its own error text is logged
      // too); as typed to a port where nothing listens — where the configuration takes it as typed.
      .map(({ password, form, text }) => ({
        password,
        url: form === 'encoded' ? `amqp://${broker.username}:${text}@${broker.host}` : `amqp://warren:${text}@127.0.0.1:1`,
      }))
      .filter(({ url }) => {
        try {
          loadConfig({ AMQP_URL: url });
          return true;
        } catch {
          return false;
        }
      });
    expect(nasty.length).toBeGreaterThanOrEqual(NASTY_PASSWORDS.length + 3);
    // The broker's real URL last: the gateway tries the others in turn (about one a second), then connects.
    const stack = testStack('secrets-in-logs', { AMQP_URL: [...nasty.map((n) => n.url), TEST_AMQP_URL].join(',') });
    stacks.push(stack);
    const gateway = await stack.gateway();
    const failures = gateway.logs.filter((line) => line.msg === 'broker connection failed; retrying');
    expect(failures.length).toBeGreaterThanOrEqual(nasty.length);
    expect(failures.map((line) => String(line.err))).toContain('connect ECONNREFUSED 127.0.0.1:1');
    expect(failures.some((line) => /ACCESS.REFUSED/.test(String(line.err)))).toBe(true);
    expect(failures[0]!.url).toMatch(/^amqp:\/\/[a-z]+:\*\*\*@/);
    expect(gateway.logs.find((line) => line.msg === 'broker connected')!.url).toBe(`amqp://${broker.username}:***@${broker.host}`);
    const text = everything(gateway.logs);
    for (const { password } of nasty) expect(leaks(text, password), password).toEqual([]);
  }, 90_000);
});

describe('a gateway whose PostgreSQL URL holds a nasty password', () => {
  /** One gateway per password and form; the exit code and every line it printed. */
  const run = async ({ text }: { text: string }): Promise<{ url: string; code: number | null | 'still running'; logs: Record<string, unknown>[] }> => {
    const url = `postgres://warren:${text}@127.0.0.1:1/warren`;
    const child = startProcess('gateway/main.ts', { STORE_URL: url, PORT: '0', AMQP_PREFIX: 'test-unused', AMQP_URL: 'amqp://127.0.0.1:1' });
    return { url, code: await exitWithin(child, 20_000), logs: child.logs };
  };

  // Four processes at a time rather than one after another: each mostly waits for its runtime to start.
  it(`exits without any form of it in what it printed, for ${written.length} passwords and forms`, async () => {
    const outcomes: Awaited<ReturnType<typeof run>>[] = [];
    for (let at = 0; at < written.length; at += 4) outcomes.push(...(await Promise.all(written.slice(at, at + 4).map(run))));
    outcomes.forEach(({ url, code, logs }, index) => {
      const { password, form } = written[index]!;
      const label = `password ${form}: ${password}`;
      let configTakesIt = true;
      try {
        loadConfig({ STORE_URL: url });
      } catch {
        configTakesIt = false;
      }
      // Taken as typed: the store cannot be opened (exit 1, its error logged); else a bad configuration (exit 2).
      if (configTakesIt) {
        expect(code, label).toBe(1);
        expect(
          logs.find((line) => line.msg === 'could not open the task store'),
          label,
        ).toMatchObject({ err: { message: expect.stringContaining('postgres://warren:***') } });
      } else {
        expect(code, label).toBe(2);
        expect(everything(logs), label).toMatch(/bad configuration: STORE_URL: /);
      }
      expect(leaks(everything(logs), password), label).toEqual([]);
    });
  }, 90_000);
});

describe('a worker whose broker URL cannot be taken as typed', () => {
  it('stops on the bad configuration, saying what to percent-encode, not what it was given', async () => {
    const password = NASTY_PASSWORDS[1]!;
    const child = startProcess('worker/main.ts', { AMQP_URL: `amqp://warren:${password}@127.0.0.1:1` });
    expect(await exitWithin(child, 20_000)).toBe(2);
    const text = everything(child.logs);
    expect(text).toMatch(/bad configuration: AMQP_URL: has an \\?"@\\?" after the host/);
    expect(leaks(text, password)).toEqual([]);
  }, 30_000);
});

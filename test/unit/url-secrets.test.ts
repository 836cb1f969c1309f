import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeDestination, loadConfig, parseFtpDestinations, parseS3Destinations, redactDestination, redactUrl } from '../../shared/index.js';
import { FORMS, leaks, NASTY_PASSWORDS } from '../support/secrets.js';

/**
 * Secrets never appear in a message, whatever characters they hold: every path that prints a URL
 * or a destination, tried with passwords built to break redaction, as typed and percent-encoded.
 * (The processes' own log lines, with a real broker and store, are in test/e2e/secrets-in-logs.test.ts.)
 */
const cases = NASTY_PASSWORDS.flatMap((password) => Object.entries(FORMS).map(([form, write]) => ({ password, form, written: write(password) })));

/** What loadConfig says about `env`: nothing when it takes it, else its complaint. */
function complaint(env: Record<string, string>): string {
  try {
    loadConfig(env);
    return '';
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
}

describe.each(cases)('a password $form: $password', ({ password, written }) => {
  const amqpUrls = [
    `amqp://warren:${written}@127.0.0.1:1`,
    `amqps://warren:${written}@broker.example:5671/vhost?heartbeat=5`,
    `amqp://:${written}@broker.example`,
    `http://warren:${written}@broker.example`,
    `amqp://good:guest@a.example,amqp://warren:${written}@b.example`,
  ];
  const storeUrls = [
    `postgres://warren:${written}@127.0.0.1:1/warren`,
    `postgresql://warren:${written}@db.example/warren?sslmode=require`,
    `postgres://warren@db.example/warren?password=${written}&sslmode=require`,
    `postgres://warren@db.example/warren?sslmode=require&sslpassword=${written}`,
    `mysql://root:${written}@db.example/warren`,
    `pg:root:${written}@db.example`,
  ];

  it.each(amqpUrls)('AMQP_URL %s: no complaint shows it', (url) => {
    expect(leaks(complaint({ AMQP_URL: url }), password)).toEqual([]);
  });

  it.each(storeUrls)('STORE_URL %s: no complaint shows it', (url) => {
    expect(leaks(complaint({ STORE_URL: url }), password)).toEqual([]);
  });

  it.each([...amqpUrls, ...storeUrls])('redactUrl(%s) hides it', (url) => {
    expect(leaks(redactUrl(url), password)).toEqual([]);
  });

  it('S3 and FTP destinations never show it: serialised, inspected, described, or in a complaint', () => {
    const s3 = { archive: { bucket: 'results', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: written, sessionToken: written } };
    const ftp = { drop: { host: 'ftp.example.com', user: 'warren', password: written } };
    const shown: string[] = [];
    for (const destination of [parseS3Destinations(JSON.stringify(s3)).archive!, parseFtpDestinations(JSON.stringify(ftp)).drop!]) {
      shown.push(
        JSON.stringify(destination),
        inspect(destination, { depth: 5 }),
        JSON.stringify(redactDestination(destination)),
        describeDestination(destination),
      );
    }
    const complaints = [
      () => parseS3Destinations(JSON.stringify({ archive: { ...s3.archive, bucket: 'NO' } })),
      () => parseS3Destinations(JSON.stringify({ archive: { ...s3.archive, secretAccesKey: written } })),
      () => parseS3Destinations(JSON.stringify({ archive: { ...s3.archive, endpoint: `http://key:${written}@s3.example` } })),
      () => parseFtpDestinations(JSON.stringify({ drop: { ...ftp.drop, port: 0 } })),
      () => parseFtpDestinations(JSON.stringify({ drop: { ...ftp.drop, host: `warren:${written}@ftp.example.com` } })),
      () => parseFtpDestinations(`{"drop":{"password":"${written}"`),
    ];
    for (const make of complaints) {
      expect(make).toThrow(ConfigError);
      try {
        make();
      } catch (err) {
        shown.push((err as Error).message);
      }
    }
    expect(leaks(shown.join('\n'), password)).toEqual([]);
  });
});

describe('redactUrl', () => {
  it('keeps what tells configurations apart: scheme, user name, host, port, path, other parameters', () => {
    expect(redactUrl('amqp://warren:secret@broker.example:5672/prod')).toBe('amqp://warren:***@broker.example:5672/prod');
    expect(redactUrl('amqp://warren:s@c:r@t@broker.example')).toBe('amqp://warren:***@broker.example');
    expect(redactUrl('postgres://warren@db/w?sslmode=require&password=x&application_name=y')).toBe('postgres://warren@db/w?sslmode=require&password=***');
    expect(redactUrl('amqp://broker.example:5672')).toBe('amqp://broker.example:5672');
    expect(redactUrl('sqlite:/var/lib/warren@2/warren.db')).toBe('sqlite:/var/lib/warren@2/warren.db');
  });

  it('hides too much rather than too little when an "@" follows the host', () => {
    expect(redactUrl('amqp://warren:secret@broker.example/vhost@x')).toBe('amqp://warren:***@x');
  });
});

describe('AMQP_URL and STORE_URL whose password would not parse as written', () => {
  it.each([
    ['AMQP_URL', 'amqp://warren:a/b@broker.example', /has an "@" after the host.*%2F/],
    ['AMQP_URL', 'amqp://warren:a#b@broker.example', /has an "@" after the host/],
    ['AMQP_URL', 'amqp://warren:a b@broker.example', /whitespace/],
    ['AMQP_URL', 'amqp://warren:secret@broker.example:99999', /not a valid URL/],
    ['STORE_URL', 'postgres://warren:a?b@db.example/warren', /has an "@" after the host/],
    ['STORE_URL', 'postgres://warren:secret@db.example:99999/warren', /not a valid URL/],
  ])('%s %s stops the process, saying what to percent-encode', (name, url, problem) => {
    expect(() => loadConfig({ [name]: url })).toThrow(new RegExp(`^${name}: `));
    expect(() => loadConfig({ [name]: url })).toThrow(problem);
  });

  it('takes the same passwords percent-encoded', () => {
    expect(loadConfig({ AMQP_URL: `amqp://warren:${encodeURIComponent('a/b#c?d e@f')}@broker.example` }).amqpUrls).toHaveLength(1);
    expect(loadConfig({ STORE_URL: `postgres://warren:${encodeURIComponent('a/b#c?d e@f')}@db/warren` }).storeUrl).toMatch(/^postgres:/);
  });

  it('names the failing entry of a failover list, not its text', () => {
    expect(() => loadConfig({ AMQP_URL: 'amqp://a.example,amqp://warren:x/y@b.example' })).toThrow(/^AMQP_URL: entry 2 of 2 has an "@"/);
  });
});

import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeDestination, parseFtpDestinations, parseS3Destinations, redactDestination } from '../../shared/index.js';

const SECRET = 'sEcReT-do-not-print-42';

function s3(value: unknown): string {
  return JSON.stringify({ archive: value });
}

function failure(parse: () => unknown): ConfigError {
  try {
    parse();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('S3_DESTINATIONS', () => {
  it('is empty when unset or blank', () => {
    expect(parseS3Destinations(undefined)).toEqual({});
    expect(parseS3Destinations('  ')).toEqual({});
  });

  it('parses a MinIO-style destination with credentials, normalising the prefix', () => {
    const { archive } = parseS3Destinations(
      s3({
        bucket: 'results',
        region: 'eu-west-1',
        endpoint: 'http://127.0.0.1:9000',
        forcePathStyle: true,
        accessKeyId: 'AK',
        secretAccessKey: SECRET,
        prefix: '/warren/out/',
      }),
    );
    expect(archive).toMatchObject({
      kind: 's3',
      name: 'archive',
      bucket: 'results',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AK', secretAccessKey: SECRET },
      prefix: 'warren/out',
    });
  });

  it('defaults to us-east-1, virtual-host style, no prefix and the SDK credential chain', () => {
    expect(parseS3Destinations(s3({ bucket: 'results' })).archive).toMatchObject({
      region: 'us-east-1',
      forcePathStyle: false,
      prefix: '',
      credentials: undefined,
      endpoint: undefined,
    });
  });

  it.each([
    ['not JSON', `{"archive":{"bucket":"results","secretAccessKey":"${SECRET}"`, /not valid JSON/],
    ['an array', '[]', /JSON object/],
    ['a bad destination name', JSON.stringify({ Archive: { bucket: 'results' } }), /destination name "Archive"/],
    ['a missing bucket', s3({ region: 'us-east-1', accessKeyId: 'AK', secretAccessKey: SECRET }), /"archive": bucket/],
    ['an invalid bucket', s3({ bucket: 'Results_1' }), /"archive": bucket/],
    ['a secret that is not a string', s3({ bucket: 'results', accessKeyId: 'AK', secretAccessKey: 42 }), /"archive": secretAccessKey: Expected string/],
    ['a misspelt field', s3({ bucket: 'results', accessKeyId: 'AK', secretAccesKey: SECRET }), /"archive": secretAccesKey/],
    ['half the credentials', s3({ bucket: 'results', secretAccessKey: SECRET }), /accessKeyId and secretAccessKey go together/],
    ['an endpoint that is not http(s)', s3({ bucket: 'results', endpoint: 'ftp://x' }), /endpoint must be an http/],
    ['credentials in the endpoint', s3({ bucket: 'results', endpoint: `http://AK:${SECRET}@minio:9000` }), /without user name or password/],
    ['a prefix that climbs out', s3({ bucket: 'results', prefix: 'a/../b' }), /prefix must be/],
  ])('stops on %s, naming the variable and the destination, never the secret', (_, raw, problem) => {
    const error = failure(() => parseS3Destinations(raw));
    expect(error.variable).toBe('S3_DESTINATIONS');
    expect(error.message).toMatch(/^S3_DESTINATIONS: /);
    expect(error.message).toMatch(problem);
    expect(error.message).not.toContain(SECRET);
  });
});

describe('FTP_DESTINATIONS', () => {
  it('parses a destination, defaulting the port by TLS mode and the root to /', () => {
    const parsed = parseFtpDestinations(
      JSON.stringify({
        drop: { host: 'ftp.example.com', user: 'warren', password: SECRET, root: '/incoming/' },
        legacy: { host: '10.0.0.5', secure: 'implicit' },
      }),
    );
    expect(parsed.drop).toMatchObject({
      kind: 'ftp',
      host: 'ftp.example.com',
      port: 21,
      user: 'warren',
      password: SECRET,
      secure: false,
      root: '/incoming',
      timeoutMs: 30_000,
    });
    expect(parsed.legacy).toMatchObject({ port: 990, secure: 'implicit', root: '/', user: 'anonymous', rejectUnauthorized: true });
  });

  it.each([
    ['a missing host', JSON.stringify({ drop: { password: SECRET } }), /"drop": host/],
    ['a port out of range', JSON.stringify({ drop: { host: 'h', port: 70000, password: SECRET } }), /"drop": port/],
    ['an unknown TLS mode', JSON.stringify({ drop: { host: 'h', secure: 'always', password: SECRET } }), /"drop": secure/],
    ['a relative root', JSON.stringify({ drop: { host: 'h', root: 'incoming', password: SECRET } }), /root must be an absolute path/],
    ['a password that is not a string', JSON.stringify({ drop: { host: 'h', password: 12345 } }), /"drop": password: Expected string/],
    ['a name with spaces', JSON.stringify({ 'my drop': { host: 'h' } }), /destination name "my drop"/],
  ])('stops on %s, naming the variable and never the password', (_, raw, problem) => {
    const error = failure(() => parseFtpDestinations(raw));
    expect(error.variable).toBe('FTP_DESTINATIONS');
    expect(error.message).toMatch(problem);
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain('12345');
  });
});

describe('describing a destination', () => {
  const { archive } = parseS3Destinations(
    s3({ bucket: 'results', endpoint: 'http://127.0.0.1:9000', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: SECRET, prefix: 'warren' }),
  );
  const { drop } = parseFtpDestinations(JSON.stringify({ drop: { host: 'ftp.example.com', user: 'warren', password: SECRET, root: '/in' } }));

  it('redacts credentials for status and logs', () => {
    expect(redactDestination(archive!)).toEqual({
      kind: 's3',
      name: 'archive',
      bucket: 'results',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: false,
      prefix: 'warren',
      credentials: 'configured',
    });
    expect(redactDestination(drop!)).toMatchObject({ host: 'ftp.example.com', credentials: 'configured' });
    expect(JSON.stringify(redactDestination(drop!))).not.toContain(SECRET);
  });

  it('names it in one line without credentials', () => {
    expect(describeDestination(archive!)).toBe('s3 "archive" (s3://results/warren at http://127.0.0.1:9000)');
    expect(describeDestination(drop!)).toBe('ftp "drop" (ftp://ftp.example.com:21/in)');
  });

  it('leaks no secret when a whole destination is serialised or inspected (a config dump in a log)', () => {
    for (const destination of [archive, drop]) {
      expect(JSON.stringify({ destination })).not.toContain(SECRET);
      expect(inspect({ destination }, { depth: 5 })).not.toContain(SECRET);
    }
    expect(JSON.stringify(archive)).not.toContain('AKIAEXAMPLE');
  });
});

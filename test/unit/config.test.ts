import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/index.js';

describe('loadConfig', () => {
  it('runs locally with no environment at all', () => {
    const config = loadConfig({});
    expect(config.amqpUrls).toEqual(['amqp://guest:guest@127.0.0.1:5672']);
    expect(config.port).toBe(5000);
    expect(config.basePath).toBe('/prediction');
    expect(config.storeUrl).toBe(`sqlite:${path.resolve('data', 'warren.db')}`);
  });

  it('puts the default SQLite file under DATA_DIR', () => {
    expect(loadConfig({ DATA_DIR: '/tmp/w' }).storeUrl).toBe('sqlite:/tmp/w/warren.db');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['AMQP_URL', 'http://example'],
    ['BASE_PATH', 'prediction/'],
    ['LOG_LEVEL', 'loud'],
    ['STORE_URL', 'mysql://x'],
    ['STORE_URL', 'postgres:/no-authority'],
    ['STORE_URL', '/var/lib/warren.db'],
    ['STORE_POOL_SIZE', '0'],
    ['WORKER_CONCURRENCY', '0'],
    ['AMQP_PREFIX', 'a b'],
    ['LOG_FORMAT', 'xml'],
    ['METRICS_PORT', '-1'],
  ])('stops on a bad %s (%s), naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}:`));
  });

  it.each(['sqlite:/tmp/w.db', 'postgres://warren@db:5432/warren', 'postgresql://warren:pw@db/warren?sslmode=require'])('accepts STORE_URL %s', (url) => {
    expect(loadConfig({ STORE_URL: url }).storeUrl).toBe(url);
  });

  it('gives a PostgreSQL store a pool of 10 connections unless STORE_POOL_SIZE says otherwise', () => {
    expect(loadConfig({}).storePoolSize).toBe(10);
    expect(loadConfig({ STORE_POOL_SIZE: '25' }).storePoolSize).toBe(25);
  });

  it('never shows a store password in its complaint about STORE_URL', () => {
    for (const url of ['mysql://root:hunter2@db/warren', 'pg://u:hunter2@db/w', 'postgres:/u?password=hunter2']) {
      expect(() => loadConfig({ STORE_URL: url })).toThrow(/^STORE_URL:/);
      expect(() => loadConfig({ STORE_URL: url })).not.toThrow(/hunter2/);
    }
  });

  it('takes several broker URLs for failover', () => {
    expect(loadConfig({ AMQP_URL: 'amqp://a:5672, amqp://b:5672' }).amqpUrls).toEqual(['amqp://a:5672', 'amqp://b:5672']);
  });

  describe('delivery slots and their fair shares', () => {
    it('gives one key half of DELIVERY_CONCURRENCY and one destination a quarter, rounded up', () => {
      expect(loadConfig({})).toMatchObject({ deliveryConcurrency: 16, deliveryKeyConcurrency: 8, deliveryDestinationConcurrency: 4, deliveryDeferAfterMs: 1000 });
      expect(loadConfig({ DELIVERY_CONCURRENCY: '6' })).toMatchObject({ deliveryKeyConcurrency: 3, deliveryDestinationConcurrency: 2 });
      expect(loadConfig({ DELIVERY_CONCURRENCY: '1' })).toMatchObject({ deliveryKeyConcurrency: 1, deliveryDestinationConcurrency: 1 });
    });

    it('takes the shares and the wait before a deferral as given', () => {
      const config = loadConfig({ DELIVERY_KEY_CONCURRENCY: '5', DELIVERY_DESTINATION_CONCURRENCY: '3', DELIVERY_DEFER_AFTER_MS: '0' });
      expect(config).toMatchObject({ deliveryKeyConcurrency: 5, deliveryDestinationConcurrency: 3, deliveryDeferAfterMs: 0 });
    });

    it.each([
      ['DELIVERY_KEY_CONCURRENCY', '0'],
      ['DELIVERY_DESTINATION_CONCURRENCY', 'four'],
      ['DELIVERY_DEFER_AFTER_MS', '-1'],
    ])('stops on a bad %s (%s), naming the variable', (name, value) => {
      expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^${name}:`));
    });
  });

  describe('WEBHOOK_CONNECT_TIMEOUT_MS', () => {
    it('is 5 s unless given, and never longer than the whole request may take', () => {
      expect(loadConfig({}).webhookConnectTimeoutMs).toBe(5000);
      expect(loadConfig({ WEBHOOK_CONNECT_TIMEOUT_MS: '2500' }).webhookConnectTimeoutMs).toBe(2500);
      expect(loadConfig({ WEBHOOK_TIMEOUT_MS: '2000' }).webhookConnectTimeoutMs).toBe(2000);
      expect(() => loadConfig({ WEBHOOK_TIMEOUT_MS: '2000', WEBHOOK_CONNECT_TIMEOUT_MS: '3000' })).toThrow(/^WEBHOOK_CONNECT_TIMEOUT_MS: 3000 is longer than WEBHOOK_TIMEOUT_MS \(2000\)/);
      expect(() => loadConfig({ WEBHOOK_CONNECT_TIMEOUT_MS: '50' })).toThrow(/^WEBHOOK_CONNECT_TIMEOUT_MS:/);
    });
  });

  it('reads a worker subset', () => {
    expect(loadConfig({ WORKER_PROCESSORS: 'echo, categorize' }).workerProcessors).toEqual(['echo', 'categorize']);
  });

  describe('UPLOAD_STORE', () => {
    const S3_DESTINATIONS = JSON.stringify({ inputs: { bucket: 'warren-inputs', prefix: 'team/a' }, archive: { bucket: 'results' } });

    it('keeps uploads on the shared volume by default', () => {
      expect(loadConfig({}).uploadStore).toEqual({ kind: 'volume' });
      expect(loadConfig({ UPLOAD_STORE: 'volume' }).uploadStore).toEqual({ kind: 'volume' });
    });

    it('puts uploads in the S3 destination it names', () => {
      const { uploadStore } = loadConfig({ S3_DESTINATIONS, UPLOAD_STORE: 's3:inputs' });
      expect(uploadStore.kind).toBe('s3');
      expect(uploadStore.kind === 's3' && uploadStore.destination).toMatchObject({ name: 'inputs', bucket: 'warren-inputs', prefix: 'team/a' });
    });

    it.each([
      ['s3:missing', /^UPLOAD_STORE: "missing" is not one of S3_DESTINATIONS \(inputs, archive\)/],
      ['s3:', /^UPLOAD_STORE: "" is not one of S3_DESTINATIONS/],
      ['s3:toString', /^UPLOAD_STORE: "toString" is not one of S3_DESTINATIONS/],
      ['disk', /^UPLOAD_STORE: "disk" must be volume or s3:<destination>/],
      ['s3://warren-inputs', /^UPLOAD_STORE: .* is not one of S3_DESTINATIONS/],
    ])('stops on UPLOAD_STORE=%s, naming the variable', (value, message) => {
      expect(() => loadConfig({ S3_DESTINATIONS, UPLOAD_STORE: value })).toThrow(ConfigError);
      expect(() => loadConfig({ S3_DESTINATIONS, UPLOAD_STORE: value })).toThrow(message);
    });

    it('stops on an S3 upload store when no S3 destination is configured', () => {
      expect(() => loadConfig({ UPLOAD_STORE: 's3:inputs' })).toThrow(/^UPLOAD_STORE: "inputs" is not one of S3_DESTINATIONS \(none configured\)/);
    });
  });

  describe('API keys', () => {
    it('is off without API_KEYS, with no rate limit', () => {
      expect(loadConfig({})).toMatchObject({ apiKeys: [], adminKeys: [], allowAnonymous: false, rateLimit: 0 });
    });

    it('reads name:secret pairs, from API_KEYS and API_KEYS_FILE, with a rate limit on by default', () => {
      const file = path.join(os.tmpdir(), `warren-keys-${process.pid}.txt`);
      fs.writeFileSync(file, '# the batch team\nbatch:batch-0123456789abcdef\n\n');
      try {
        const config = loadConfig({ API_KEYS: 'alice:alice-0123456789abcdef, ops:ops:with-colons-0123', API_KEYS_FILE: file, ADMIN_KEYS: 'ops' });
        expect(config.apiKeys).toEqual([
          { name: 'alice', secret: 'alice-0123456789abcdef' },
          { name: 'ops', secret: 'ops:with-colons-0123' },
          { name: 'batch', secret: 'batch-0123456789abcdef' },
        ]);
        expect(config).toMatchObject({ adminKeys: ['ops'], rateLimit: 1000, rateLimitWindowSeconds: 10 });
      } finally {
        fs.rmSync(file);
      }
    });

    it.each([
      ['no name', { API_KEYS: 'alice-0123456789abcdef' }, /^API_KEYS: entry 1 must be name:secret/],
      ['a short secret', { API_KEYS: 'alice:short' }, /^API_KEYS: key "alice": the secret must be 16-256/],
      ['a name twice', { API_KEYS: 'a:0123456789abcdef0,a:0123456789abcdef1' }, /^API_KEYS: key "a" is given twice/],
      ['a secret twice', { API_KEYS: 'a:0123456789abcdef0,b:0123456789abcdef0' }, /^API_KEYS: key "b" has the same secret/],
      ['an unknown admin', { API_KEYS: 'a:0123456789abcdef0', ADMIN_KEYS: 'root' }, /^ADMIN_KEYS: "root" is not the name of one of API_KEYS/],
      ['a missing file', { API_KEYS_FILE: '/nonexistent/keys' }, /^API_KEYS_FILE: cannot read \/nonexistent\/keys: ENOENT/],
    ])('stops on %s, never showing a secret', (_what, env, message) => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
      try {
        loadConfig(env);
      } catch (err) {
        expect(String(err)).not.toMatch(/0123456789abcdef|short/);
      }
    });
  });
});

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

  it('bounds results at 8 MiB and gives stalled tasks 10 min of grace, unless MAX_RESULT_BYTES and STALL_GRACE_MS say otherwise', () => {
    expect(loadConfig({}).maxResultBytes).toBe(8 * 1024 * 1024);
    expect(loadConfig({ MAX_RESULT_BYTES: '65536' }).maxResultBytes).toBe(65_536);
    expect(() => loadConfig({ MAX_RESULT_BYTES: '200000000' })).toThrow(/^MAX_RESULT_BYTES:/);
    expect(loadConfig({}).stallGraceMs).toBe(600_000);
    expect(loadConfig({ STALL_GRACE_MS: '1000' }).stallGraceMs).toBe(1000);
    expect(() => loadConfig({ STALL_GRACE_MS: 'soon' })).toThrow(/^STALL_GRACE_MS:/);
  });

  it('reads retry delays as comma-separated whole numbers, and refuses a stray comma rather than read it as a 0 ms tier', () => {
    expect(loadConfig({ RETRY_DELAYS_MS: '500, 2000' }).retryDelaysMs).toEqual([500, 2000]);
    expect(() => loadConfig({ RETRY_DELAYS_MS: '1000,' })).toThrow(/^RETRY_DELAYS_MS: "1000," has an empty entry$/);
    expect(() => loadConfig({ DELIVERY_RETRY_DELAYS_MS: '5000,,30000' })).toThrow(/^DELIVERY_RETRY_DELAYS_MS: .* has an empty entry$/);
  });

  it('waits at most 10 s for a PostgreSQL connection or answer unless STORE_TIMEOUT_MS says otherwise', () => {
    expect(loadConfig({}).storeTimeoutMs).toBe(10_000);
    expect(loadConfig({ STORE_TIMEOUT_MS: '2500' }).storeTimeoutMs).toBe(2500);
    expect(() => loadConfig({ STORE_TIMEOUT_MS: '50' })).toThrow(/^STORE_TIMEOUT_MS:/);
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
      expect(loadConfig({})).toMatchObject({
        deliveryConcurrency: 16,
        deliveryKeyConcurrency: 8,
        deliveryDestinationConcurrency: 4,
        deliveryDeferAfterMs: 1000,
      });
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
      expect(() => loadConfig({ WEBHOOK_TIMEOUT_MS: '2000', WEBHOOK_CONNECT_TIMEOUT_MS: '3000' })).toThrow(
        /^WEBHOOK_CONNECT_TIMEOUT_MS: 3000 is longer than WEBHOOK_TIMEOUT_MS \(2000\)/,
      );
      expect(() => loadConfig({ WEBHOOK_CONNECT_TIMEOUT_MS: '50' })).toThrow(/^WEBHOOK_CONNECT_TIMEOUT_MS:/);
    });
  });

  it('reads a worker subset', () => {
    expect(loadConfig({ WORKER_PROCESSORS: 'echo, categorize' }).workerProcessors).toEqual(['echo', 'categorize']);
  });

  describe('PUBLIC_URL', () => {
    it('is unset by default: the gateway takes its origin from each request', () => {
      expect(loadConfig({}).publicUrl).toBeUndefined();
    });

    it.each([
      ['https://ml.example.com', 'https://ml.example.com'],
      ['https://ml.example.com/', 'https://ml.example.com'],
      ['HTTPS://ML.Example.com:443/warren/', 'https://ml.example.com/warren'],
      ['http://gateway.test:8080/a/b', 'http://gateway.test:8080/a/b'],
      ['http://[::1]:5000', 'http://[::1]:5000'],
      ['http://10.0.0.5', 'http://10.0.0.5'],
    ])('takes %s as %s', (raw, normalised) => {
      expect(loadConfig({ PUBLIC_URL: raw }).publicUrl).toBe(normalised);
    });

    it.each([
      ['no scheme', 'ml.example.com', /http:\/\/ or https:\/\//],
      ['another scheme', 'ftp://ml.example.com', /http:\/\/ or https:\/\//],
      ['a query', 'https://ml.example.com/?a=1', /query/],
      ['a fragment', 'https://ml.example.com/#x', /fragment/],
      ['no host', 'https:///warren', /no host/],
      ['a bad port', 'https://ml.example.com:99999', /host or port/],
      ['a space in the host', 'https://ml example.com', /host or port/],
      ['a dot segment', 'https://ml.example.com/a/../b', /path/],
      ['an escape in the path', 'https://ml.example.com/a%2Fb', /path/],
      ['an empty segment', 'https://ml.example.com/a//b', /path/],
    ])('stops on %s, naming the variable', (_what, raw, problem) => {
      expect(() => loadConfig({ PUBLIC_URL: raw })).toThrow(ConfigError);
      expect(() => loadConfig({ PUBLIC_URL: raw })).toThrow(/^PUBLIC_URL:/);
      expect(() => loadConfig({ PUBLIC_URL: raw })).toThrow(problem);
    });

    it('refuses a user name and password without repeating them', () => {
      expect(() => loadConfig({ PUBLIC_URL: 'https://admin:hunter2@ml.example.com' })).toThrow(/^PUBLIC_URL: must not carry a user name or password/);
      expect(() => loadConfig({ PUBLIC_URL: 'https://admin:hunter2@ml.example.com' })).not.toThrow(/hunter2|admin/);
    });
  });

  describe('what decoders may spend', () => {
    it('refuses images over 100 megapixels and leaves the memory budget and per-processor concurrency to the worker by default', () => {
      const config = loadConfig({});
      expect(config.maxImagePixels).toBe(100_000_000);
      expect(config.workerMemoryBudgetMb).toBeUndefined();
      expect(config.processorConcurrency).toEqual(new Map());
    });

    it('reads MAX_IMAGE_PIXELS, WORKER_MEMORY_BUDGET_MB and PROCESSOR_CONCURRENCY', () => {
      const config = loadConfig({
        MAX_IMAGE_PIXELS: '40000000',
        WORKER_MEMORY_BUDGET_MB: '3072',
        PROCESSOR_CONCURRENCY: 'document:2, thumbnail : 8,my-model:1',
      });
      expect(config.maxImagePixels).toBe(40_000_000);
      expect(config.workerMemoryBudgetMb).toBe(3072);
      expect(config.processorConcurrency).toEqual(
        new Map([
          ['document', 2],
          ['thumbnail', 8],
          ['my-model', 1],
        ]),
      );
    });

    it.each([
      ['MAX_IMAGE_PIXELS', '0', /^MAX_IMAGE_PIXELS: 0 is outside 1\.\.10000000000/],
      ['MAX_IMAGE_PIXELS', '100MP', /^MAX_IMAGE_PIXELS: "100MP" is not a whole number/],
      ['WORKER_MEMORY_BUDGET_MB', '32', /^WORKER_MEMORY_BUDGET_MB: 32 is outside 64\.\./],
      ['WORKER_MEMORY_BUDGET_MB', '2G', /^WORKER_MEMORY_BUDGET_MB: "2G" is not a whole number/],
      ['PROCESSOR_CONCURRENCY', 'document', /^PROCESSOR_CONCURRENCY: "document" must be processor:n/],
      ['PROCESSOR_CONCURRENCY', 'Document:2', /^PROCESSOR_CONCURRENCY: "Document:2" must be processor:n/],
      ['PROCESSOR_CONCURRENCY', 'document:0', /^PROCESSOR_CONCURRENCY: document: "0" is not a whole number from 1 to 10000/],
      ['PROCESSOR_CONCURRENCY', 'document:two', /^PROCESSOR_CONCURRENCY: document: "two" is not a whole number/],
      ['PROCESSOR_CONCURRENCY', 'document:2,document:3', /^PROCESSOR_CONCURRENCY: names document twice/],
    ])('stops on %s=%s, naming the variable', (name, value, message) => {
      expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: value })).toThrow(message);
    });
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

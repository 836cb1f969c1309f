import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildTopology, loadConfig, revocationSyncs, safeFileName, taskEvents, taskMessages, ConfigError } from '../../shared/index.js';
import { PYTHON, PYTHON_SDK_DIR, pythonEnv, pythonSdkAvailable } from '../support/python.js';

/**
 * The Python worker SDK (worker/python): its own unittest suite, and the places where it must
 * agree with the Node side to the letter — queue arguments (a mismatch is PRECONDITION_FAILED),
 * configuration, the contracts it accepts and emits, file names — checked against the very
 * TypeScript definitions, so neither can drift unnoticed.
 */

interface PythonAnswers {
  configs: Record<string, unknown>[];
  topologies: {
    exchanges: { name: string; type: string }[];
    queues: { name: string; arguments: Record<string, unknown>; bindings: string[][] }[];
    retryTiers: unknown[];
    taskQueues: Record<string, string>;
  }[];
  tasks: boolean[];
  names: string[];
  events: unknown[];
  sync: unknown;
}

const CONFIGS: Record<string, string>[] = [
  {},
  {
    AMQP_URL: 'amqp://u:p@a:5672/v, amqps://b',
    AMQP_PREFIX: 'p-1.x',
    DATA_DIR: '/srv/data',
    WORKER_CONCURRENCY: '4',
    PROCESSOR_CONCURRENCY: 'echo:2, flaky : 3',
    WORKER_PROCESSORS: 'echo, flaky',
    LOG_LEVEL: 'debug',
    LOG_FORMAT: 'pretty',
  },
  {
    RETRY_DELAYS_MS: '500,500,20',
    TASK_QUEUE_TTL_MS: '0',
    TASK_QUEUE_MAX_LENGTH: '7',
    DELIVERY_LIMIT: '9',
    MAX_RESULT_BYTES: '2048',
    TASK_TIMEOUT_MS: '100',
    SHUTDOWN_GRACE_MS: '0',
    PUBLISH_TIMEOUT_MS: '250',
    TASK_MAX_ATTEMPTS: '1',
  },
  { RETRY_DELAYS_MS: '1000,' },
  { S3_DESTINATIONS: '{"up":{"bucket":"uploads","accessKeyId":"a","secretAccessKey":"s"}}', UPLOAD_STORE: 's3:up' },
  { WORKER_PROCESSORS: 'all' },
  // Each of these stops both workers, with the same words.
  { WORKER_CONCURRENCY: 'lots' },
  { WORKER_CONCURRENCY: '0' },
  { SHUTDOWN_GRACE_MS: '-1' },
  { RETRY_DELAYS_MS: '1000,x' },
  { MAX_RESULT_BYTES: '1.5' },
  { LOG_LEVEL: 'loud' },
  { LOG_FORMAT: 'xml' },
  { AMQP_PREFIX: 'has space' },
  { AMQP_URL: 'http://u:secret@h' },
  { AMQP_URL: 'amqp://u:se/cret@h' },
  { AMQP_URL: 'amqp://u:se cret@h' },
  { AMQP_URL: 'amqp://h,ftp://h' },
  { AMQP_URL: 'amqp://h:99999' },
  { PROCESSOR_CONCURRENCY: 'echo' },
  { PROCESSOR_CONCURRENCY: 'echo:0' },
  { PROCESSOR_CONCURRENCY: 'echo:1,echo:2' },
  { UPLOAD_STORE: 'somewhere' },
  { UPLOAD_STORE: 's3:nope' },
  { S3_DESTINATIONS: '{"up":{"bucket":"uploads","secretAccessKey":"s3cret"' },
  { S3_DESTINATIONS: '[]' },
  { S3_DESTINATIONS: '{"up":{"bucket":"uploads","secretAccesKey":"s3cret"}}' },
  { S3_DESTINATIONS: '{"up":{"bucket":"uploads","secretAccessKey":"s3cret"}}' },
  { S3_DESTINATIONS: '{"up":{"bucket":"uploads","endpoint":"ftp://x"}}' },
  { S3_DESTINATIONS: '{"Up":{"bucket":"uploads"}}' },
];

const TOPOLOGIES = [
  {
    prefix: 'warren',
    processors: ['echo', 'categorize-torch'],
    taskQueueMaxLength: 100_000,
    deliveryLimit: 5,
    retryDelaysMs: [1000, 10_000, 60_000, 300_000],
    taskQueueTtlMs: 86_400_000,
  },
  { prefix: 'test-1', processors: ['a'], taskQueueMaxLength: 3, deliveryLimit: 1, retryDelaysMs: [300, 20, 300], taskQueueTtlMs: 0 },
  { prefix: 'x', processors: [], taskQueueMaxLength: 1, deliveryLimit: 2, retryDelaysMs: [], taskQueueTtlMs: 5 },
];

const aTask = (changes: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'warren.task',
  version: 1,
  task_id: randomUUID(),
  processor: 'echo',
  submitted_at: new Date().toISOString(),
  attempt: 1,
  input: { fields: { a: 1 }, files: [{ name: 'a', content_type: 'text/plain', size: 1, location: 'volume:uploads/x/0-a' }] },
  ...changes,
});

const TASKS = [
  JSON.stringify(aTask()),
  JSON.stringify(aTask({ extra: true })),
  JSON.stringify(aTask({ attempt: 0 })),
  JSON.stringify(aTask({ attempt: 1.5 })),
  JSON.stringify(aTask({ attempt: '1' })),
  JSON.stringify(aTask({ version: 2 })),
  JSON.stringify(aTask({ task_id: 'not-a-uuid' })),
  JSON.stringify(aTask({ processor: 'Echo' })),
  JSON.stringify(aTask({ processor: 'x'.repeat(65) })),
  JSON.stringify(aTask({ submitted_at: 'yesterday' })),
  JSON.stringify(aTask({ input: { fields: [], files: [] } })),
  JSON.stringify(aTask({ input: { fields: {}, files: [{ name: 'a', content_type: 'b', size: -1, location: 'c' }] } })),
  JSON.stringify(aTask({ input: { fields: {} } })),
  JSON.stringify(aTask({ type: 'warren.task.event' })),
  '[]',
  '{"half": ',
];

const NAMES = [
  'report.pdf',
  '../../etc/passwd',
  'C:\\Users\\x\\a b.txt',
  '.hidden',
  '__init__.py',
  'Café déjà.txt',
  '日本語',
  '',
  'x'.repeat(150) + '.txt',
  'a\u0000b',
  'emoji 😀 name.png',
];

function askPython(): PythonAnswers {
  const done = spawnSync(PYTHON, [`${PYTHON_SDK_DIR}/tests/parity.py`], {
    input: JSON.stringify({ configs: CONFIGS, topologies: TOPOLOGIES, tasks: TASKS, names: NAMES }),
    env: pythonEnv(),
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (done.status !== 0) throw new Error(`parity.py failed (${done.status}):\n${done.stderr}`);
  return JSON.parse(done.stdout) as PythonAnswers;
}

describe.skipIf(!pythonSdkAvailable)('the Python worker SDK', () => {
  it("passes its own unit tests (Debian's python3 -m unittest)", () => {
    const done = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', `${PYTHON_SDK_DIR}/tests`, '-t', PYTHON_SDK_DIR], {
      env: pythonEnv(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(done.status, done.stderr).toBe(0);
    expect(done.stderr).toMatch(/^OK/m);
  }, 130_000);

  describe('agrees with the Node side', () => {
    const python = pythonSdkAvailable ? askPython() : undefined;

    it('declares exactly the exchanges, queues, arguments and bindings of shared/topology.ts, the delivery side aside', () => {
      TOPOLOGIES.forEach((options, index) => {
        const node = buildTopology(options);
        const delivery = (name: string): boolean => name.includes('.deliver');
        const answer = python!.topologies[index]!;
        expect(answer.exchanges).toEqual(node.declare.exchanges.filter((e) => !delivery(e.name)).map((e) => ({ name: e.name, type: e.type })));
        expect(answer.queues).toEqual(
          node.declare.queues
            .filter((q) => !delivery(q.name))
            .map((q) => ({ name: q.name, arguments: q.options.arguments, bindings: q.bindings.map((b) => [b.exchange, b.pattern]) })),
        );
        expect(answer.retryTiers).toEqual(node.retryTiers);
        expect(answer.taskQueues).toEqual(Object.fromEntries(node.taskQueues));
        // Every exchange and queue is durable on both sides: the Node options say so, the Python side always declares durable.
        expect(node.declare.exchanges.every((e) => e.options.durable === true) && node.declare.queues.every((q) => q.options.durable === true)).toBe(true);
      });
    });

    it('reads the same environment into the same values, and refuses the same values with the same words', () => {
      CONFIGS.forEach((env, index) => {
        const answer = python!.configs[index]!;
        let node: Record<string, unknown>;
        try {
          const c = loadConfig(env);
          node = {
            amqpUrls: c.amqpUrls,
            amqpPrefix: c.amqpPrefix,
            dataDir: c.dataDir,
            logLevel: c.logLevel,
            logFormat: c.logFormat,
            workerProcessors: c.workerProcessors,
            workerConcurrency: c.workerConcurrency,
            processorConcurrency: Object.fromEntries(c.processorConcurrency),
            publishTimeoutMs: c.publishTimeoutMs,
            taskQueueMaxLength: c.taskQueueMaxLength,
            taskQueueTtlMs: c.taskQueueTtlMs,
            deliveryLimit: c.deliveryLimit,
            retryDelaysMs: c.retryDelaysMs,
            taskMaxAttempts: c.taskMaxAttempts,
            maxResultBytes: c.maxResultBytes,
            taskTimeoutMs: c.taskTimeoutMs,
            shutdownGraceMs: c.shutdownGraceMs,
            uploadStore: c.uploadStore.kind === 's3' ? c.uploadStore.destination.name : null,
          };
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          node = { error: err.message, variable: err.variable };
        }
        expect(answer, JSON.stringify(env)).toEqual(node);
        expect(JSON.stringify(answer)).not.toMatch(/s3cret/);
      });
    });

    it('accepts and refuses the same task messages as shared/contracts.ts', () => {
      expect(python!.tasks).toEqual(
        TASKS.map((body) => {
          try {
            return taskMessages.check(JSON.parse(body));
          } catch {
            return false;
          }
        }),
      );
      expect(python!.tasks.filter(Boolean)).toHaveLength(2);
    });

    it('publishes events and sync markers that the Node contracts accept', () => {
      for (const event of python!.events) expect(taskEvents.check(event), JSON.stringify(event)).toBe(true);
      expect(revocationSyncs.check(python!.sync)).toBe(true);
    });

    it('names files as shared/volume.ts does', () => {
      expect(python!.names).toEqual(NAMES.map((name) => safeFileName(name)));
    });
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Channel } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { buildAsyncApi, toJsonSchema } from '../../gateway/docs/asyncapi.js';
import { assertTopology, buildTopology, ConfigError, deleteTopology, loadProcessorDescriptors } from '../../shared/index.js';
import { CeleryReply, CeleryTaskHeaders } from '../../gateway/celery/contracts.js';

/**
 * What warren declares for processors Celery workers serve: their Celery queues as Celery declares
 * them (so a task sent before any worker started is kept), its own reply queue, and no quorum
 * queue of its own for them — and what it never deletes (Celery's, shared by every Celery app).
 */
const options = { prefix: 'w', processors: ['echo'], taskQueueMaxLength: 10, deliveryLimit: 5 };

/** A channel that only records what it is asked to do. */
function recordingChannel(): { channel: Channel; calls: string[] } {
  const calls: string[] = [];
  const record =
    (verb: string) =>
    (...args: unknown[]): Promise<void> => {
      calls.push(`${verb} ${JSON.stringify(args)}`);
      return Promise.resolve();
    };
  const channel = {
    assertExchange: record('assertExchange'),
    assertQueue: record('assertQueue'),
    bindQueue: record('bindQueue'),
    deleteQueue: record('deleteQueue'),
    deleteExchange: record('deleteExchange'),
  };
  return { channel: channel as unknown as Channel, calls };
}

describe('the topology with Celery queues', () => {
  it('declares each Celery queue classic and durable, bound on the celery direct exchange by its own name', async () => {
    const { channel, calls } = recordingChannel();
    await assertTopology(channel, buildTopology({ ...options, celeryQueues: ['ml-jobs', 'ml-jobs'] }));
    expect(calls).toContain('assertExchange ["celery","direct",{"durable":true}]');
    expect(calls).toContain('assertQueue ["ml-jobs",{"durable":true}]');
    expect(calls).toContain('bindQueue ["ml-jobs","celery","ml-jobs"]');
    expect(calls.filter((call) => call.startsWith('assertQueue ["ml-jobs"'))).toHaveLength(1);
    // kombu's pidbox exchange, declared as kombu declares it, for revoke broadcasts.
    expect(calls).toContain('assertExchange ["celery.pidbox","fanout",{"durable":false}]');
  });

  it('has warren’s reply queue, a quorum queue dead-lettering to warren’s exchange', () => {
    const topology = buildTopology({ ...options, celeryQueues: ['celery'] });
    const replies = topology.declare.queues.find((queue) => queue.name === 'w.celery-replies');
    expect(replies?.options.arguments).toMatchObject({ 'x-queue-type': 'quorum', 'x-dead-letter-exchange': 'w.dlx', 'x-delivery-limit': 5 });
  });

  it('has no reply queue and declares nothing of Celery’s when no processor is Celery’s', async () => {
    const { channel, calls } = recordingChannel();
    const topology = buildTopology(options);
    await assertTopology(channel, topology);
    expect(topology.declare.queues.map((queue) => queue.name)).not.toContain('w.celery-replies');
    expect(calls.filter((call) => call.includes('"celery'))).toEqual([]);
  });

  it('never deletes Celery’s queues or exchanges when tearing down warren’s prefix', async () => {
    const { channel, calls } = recordingChannel();
    await deleteTopology(channel, buildTopology({ ...options, celeryQueues: ['ml-jobs'] }));
    expect(calls).toContain('deleteQueue ["w.celery-replies"]');
    expect(calls.filter((call) => call.includes('ml-jobs') || call.includes('"celery'))).toEqual([]);
  });
});

describe('a Celery descriptor that takes files', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  it('may not have a field named `files`, the kwarg its task gets the files in', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warren-celery-descriptor-'));
    dirs.push(dir);
    const descriptor = {
      name: 'scan',
      version: '1',
      description: 'OCR on a Celery worker',
      fields: { type: 'object', properties: { files: { type: 'string' } } },
      files: { accept: ['image/png'], minCount: 1, maxCount: 1 },
      celery: { task: 'tasks.scan' },
    };
    fs.writeFileSync(path.join(dir, 'scan.json'), JSON.stringify(descriptor));
    await expect(loadProcessorDescriptors(dir)).rejects.toThrow(ConfigError);
    await expect(loadProcessorDescriptors(dir)).rejects.toThrow(/"files", the keyword argument a Celery task gets its input files in/);
  });
});

describe('the AsyncAPI document with a processor Celery workers serve', () => {
  const elab = { name: 'elab', version: '1', description: 'On a Celery worker', celery: { task: 'tasks.elab_file', queue: 'ml-jobs' } };
  const document = buildAsyncApi({
    prefix: 'w',
    processors: [{ name: 'echo', version: '1', description: 'echo' }, elab],
    taskQueueMaxLength: 10,
    deliveryLimit: 5,
  }) as {
    channels: Record<string, { address: string | null; messages: Record<string, { $ref: string }> }>;
    components: { schemas: Record<string, unknown> };
  };

  it('describes its Celery queue and message, and no warren queue for it', () => {
    expect(document.channels['celeryTasks.elab']).toMatchObject({ address: 'ml-jobs', messages: { CeleryTask: { $ref: '#/components/messages/CeleryTask' } } });
    expect(document.channels).not.toHaveProperty('tasks.elab');
    expect(document.channels).not.toHaveProperty('taskQueue.elab');
    expect(document.channels).toHaveProperty('taskQueue.echo');
  });

  it('describes the reply queue as the gateways declare it, and publishes the Celery messages’ schemas', () => {
    expect(document.channels.celeryReplies).toMatchObject({ address: 'w.celery-replies', 'x-queue-arguments': { 'x-queue-type': 'quorum' } });
    expect(document.components.schemas.CeleryTaskHeaders).toEqual(toJsonSchema(CeleryTaskHeaders));
    expect(document.components.schemas.CeleryReply).toEqual(toJsonSchema(CeleryReply));
  });
});

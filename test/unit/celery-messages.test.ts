import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TaskInput } from '../../shared/index.js';
import { CeleryRevoke, CeleryTaskBody, CeleryTaskHeaders } from '../../gateway/celery/contracts.js';
import { celeryTaskMessage, type CeleryTaskSpec } from '../../gateway/celery/task-message.js';
import { pythonRepr } from '../../gateway/celery/python-repr.js';
import { revokeBroadcast } from '../../gateway/celery/revoke.js';

/**
 * What warren puts on the wire for Celery workers: task messages in Celery's protocol v2 (as
 * Celery 5.2's `as_task_v2` writes them) and `revoke` broadcasts (as kombu's Mailbox writes them).
 */
const taskId = '0b7b8a4e-6f1c-4e0f-9d55-3c2f6c1f2a10';
const dataDir = path.resolve('/srv/warren-data');
const input: TaskInput = { fields: { item_a: 'TV', item_b: 'Samsung' }, files: [] };
const spec = (overrides: Partial<CeleryTaskSpec> = {}): CeleryTaskSpec => ({
  taskId,
  target: { task: 'tasks.elab_file', queue: 'celery' },
  input,
  takesFiles: false,
  dataDir,
  replyTo: 'warren.celery-replies',
  ...overrides,
});

describe('a Celery task message', () => {
  it('has protocol v2 headers naming the task, with warren’s task id as the Celery id and root', () => {
    const { properties } = celeryTaskMessage(spec());
    expect(properties.headers).toEqual({
      lang: 'py',
      task: 'tasks.elab_file',
      id: taskId,
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      root_id: taskId,
      parent_id: null,
      argsrepr: '()',
      kwargsrepr: "{'item_a': 'TV', 'item_b': 'Samsung'}",
      origin: expect.stringMatching(/^warren-gateway-\d+@/) as unknown,
      ignore_result: false,
    });
  });

  it('is JSON [args, kwargs, embed] with the fields as kwargs, correlated by the task id and replying to warren’s queue', () => {
    const { body, properties } = celeryTaskMessage(spec());
    expect(JSON.parse(body.toString('utf8'))).toEqual([[], { item_a: 'TV', item_b: 'Samsung' }, { callbacks: null, errbacks: null, chain: null, chord: null }]);
    expect(properties).toMatchObject({
      correlationId: taskId,
      replyTo: 'warren.celery-replies',
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      persistent: true,
    });
  });

  it('waits in the queue no longer than warren’s queue TTL (an AMQP expiration, never Celery’s `expires`), and carries the run timeout as the hard time limit [hard, soft]', () => {
    const { properties } = celeryTaskMessage(spec({ queueTtlMs: 86_400_000, timeLimitSeconds: 90 }));
    expect(properties).toMatchObject({ expiration: '86400000', headers: { expires: null, timelimit: [90, null] } });
    expect(celeryTaskMessage(spec({ queueTtlMs: -5 })).properties.expiration).toBe('0');
    expect(celeryTaskMessage(spec()).properties).not.toHaveProperty('expiration');
  });

  it('passes input files as a `files` kwarg: absolute paths on the shared volume, s3:// locations as they are', () => {
    const files = [
      { name: 'scan.png', content_type: 'image/png', size: 10, location: `volume:uploads/${taskId}/0-scan.png` },
      { name: 'b.pdf', content_type: 'application/pdf', size: 20, location: 's3://bucket/uploads/b.pdf' },
    ];
    const { body } = celeryTaskMessage(spec({ takesFiles: true, input: { fields: { pages: 2 }, files } }));
    expect((JSON.parse(body.toString('utf8')) as unknown[])[1]).toEqual({
      pages: 2,
      files: [path.join(dataDir, 'uploads', taskId, '0-scan.png'), 's3://bucket/uploads/b.pdf'],
    });
  });

  it('passes no `files` kwarg to a task of a processor that takes no files', () => {
    const { body } = celeryTaskMessage(spec());
    expect((JSON.parse(body.toString('utf8')) as unknown[])[1]).not.toHaveProperty('files');
  });

  it('fits the schemas the AsyncAPI document publishes for it', () => {
    const { body, properties } = celeryTaskMessage(spec({ queueTtlMs: 1000, timeLimitSeconds: 5, takesFiles: true }));
    expect(TypeCompiler.Compile(CeleryTaskHeaders).Check(properties.headers)).toBe(true);
    expect(TypeCompiler.Compile(CeleryTaskBody).Check(JSON.parse(body.toString('utf8')))).toBe(true);
  });

  it('refuses an input file whose location leaves DATA_DIR', () => {
    const files = [{ name: 'x', content_type: 'text/plain', size: 1, location: 'volume:../etc/passwd' }];
    expect(() => celeryTaskMessage(spec({ takesFiles: true, input: { fields: {}, files } }))).toThrow(/leaves the data directory/);
  });
});

describe('pythonRepr', () => {
  it('writes JSON values as Python’s repr does', () => {
    expect(pythonRepr({ a: true, b: null, c: [1, 2.5, false], d: "it's", e: 'say "hi"\n' }, 1000)).toBe(
      `{'a': True, 'b': None, 'c': [1, 2.5, False], 'd': "it's", 'e': 'say "hi"\\n'}`,
    );
  });

  it('cuts at the limit with "...", as Celery’s saferepr does', () => {
    const text = pythonRepr({ text: 'x'.repeat(2000) }, 1024);
    expect(text).toHaveLength(1024);
    expect(text.endsWith('...')).toBe(true);
  });
});

describe('a revoke broadcast', () => {
  it('is the `revoke` command kombu’s Mailbox sends for app.control.revoke(id, terminate=True)', () => {
    const { body, properties } = revokeBroadcast(taskId);
    expect(JSON.parse(body.toString('utf8'))).toEqual({
      method: 'revoke',
      arguments: { task_id: taskId, terminate: true, signal: 'SIGTERM' },
      destination: null,
      pattern: null,
      matcher: null,
    });
    expect(properties).toMatchObject({ contentType: 'application/json', contentEncoding: 'utf-8', persistent: false, headers: { expires: 0 } });
    expect(TypeCompiler.Compile(CeleryRevoke).Check(JSON.parse(body.toString('utf8')))).toBe(true);
  });

  it('moves the Lamport clock header forward on each broadcast', () => {
    const first = revokeBroadcast(taskId).properties.headers as { clock: number };
    const second = revokeBroadcast(taskId).properties.headers as { clock: number };
    expect(second.clock).toBeGreaterThan(first.clock);
  });
});

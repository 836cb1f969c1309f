import { describe, expect, it } from 'vitest';
import { reduceTask, type TaskProgressState } from '../../shared/index.js';
import { attemptOfReply, mapCeleryReply, parseCeleryReply, type CeleryReply } from '../../gateway/celery/replies.js';

/**
 * What a Celery worker's rpc:// result backend sends back, and the warren events the bridge makes
 * of it. The replies are as Celery 5.2 writes them (celery/backends/rpc.py, base.py).
 */
const taskId = '0b7b8a4e-6f1c-4e0f-9d55-3c2f6c1f2a10';
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const reply = (status: string, result: unknown, traceback: string | null = null): CeleryReply => ({ taskId, status, result, traceback });

describe('parseCeleryReply', () => {
  it('reads the JSON reply the rpc:// backend sends', () => {
    const parsed = parseCeleryReply(json({ task_id: taskId.toUpperCase(), status: 'SUCCESS', result: 'tv samsung', traceback: null, children: [] }), {
      contentType: 'application/json',
      correlationId: taskId,
    });
    expect(parsed).toEqual({ taskId, status: 'SUCCESS', result: 'tv samsung', traceback: null });
  });

  it('takes the task id from the correlation id when the body has none', () => {
    expect(parseCeleryReply(json({ status: 'STARTED', result: null }), { contentType: 'application/json', correlationId: taskId })).toMatchObject({
      taskId,
      status: 'STARTED',
    });
  });

  it('refuses a pickled reply, saying which setting to use', () => {
    expect(parseCeleryReply(Buffer.from([0x80, 0x04]), { contentType: 'application/x-python-serialize' })).toEqual({
      invalid: expect.stringContaining("result_serializer='json'") as unknown,
    });
  });

  it('refuses what is not JSON, not an object, or names no task warren could have made', () => {
    expect(parseCeleryReply(Buffer.from('{not json'), { contentType: 'application/json' })).toHaveProperty('invalid');
    expect(parseCeleryReply(json(['SUCCESS']), { contentType: 'application/json' })).toHaveProperty('invalid');
    expect(parseCeleryReply(json({ task_id: 'celery-task-42', status: 'SUCCESS' }), { contentType: 'application/json' })).toHaveProperty('invalid');
    expect(parseCeleryReply(json({ task_id: taskId }), { contentType: 'application/json' })).toHaveProperty('invalid');
  });
});

describe('mapCeleryReply', () => {
  it('maps STARTED (task_track_started) to STARTED, naming the worker', () => {
    expect(mapCeleryReply(reply('STARTED', { pid: 4242, hostname: 'celery@gpu-1' }))).toEqual({ kind: 'event', status: 'STARTED', worker: 'celery@gpu-1' });
  });

  it('maps SUCCESS to SUCCESS with the return value as the result', () => {
    expect(mapCeleryReply(reply('SUCCESS', 'tv samsung'))).toEqual({ kind: 'event', status: 'SUCCESS', result: 'tv samsung' });
    expect(mapCeleryReply(reply('SUCCESS', null))).toEqual({ kind: 'event', status: 'SUCCESS', result: null });
  });

  it('fails a task whose result is over MAX_RESULT_BYTES of JSON as result_too_large, as from a warren worker', () => {
    expect(mapCeleryReply(reply('SUCCESS', 'x'.repeat(100)), { maxResultBytes: 102 })).toMatchObject({ status: 'SUCCESS' });
    expect(mapCeleryReply(reply('SUCCESS', 'x'.repeat(101)), { maxResultBytes: 102 })).toMatchObject({
      status: 'FAILURE',
      error: { code: 'result_too_large' },
    });
  });

  it('maps FAILURE to FAILURE with code celery_<ExcType> and the exception’s message', () => {
    const failure = { exc_type: 'ValueError', exc_message: ['cannot elaborate Toaster by Acme'], exc_module: 'builtins' };
    expect(mapCeleryReply(reply('FAILURE', failure, 'Traceback (most recent call last): …'))).toEqual({
      kind: 'event',
      status: 'FAILURE',
      error: { code: 'celery_ValueError', message: 'cannot elaborate Toaster by Acme' },
    });
  });

  it('writes an exception of several arguments, or none, as Python’s str() would give them', () => {
    expect(mapCeleryReply(reply('FAILURE', { exc_type: 'KeyError', exc_message: ['item_c', 3] }))).toMatchObject({
      error: { code: 'celery_KeyError', message: 'item_c, 3' },
    });
    expect(mapCeleryReply(reply('FAILURE', { exc_type: 'Outer.Inner', exc_message: [] }))).toMatchObject({
      error: { code: 'celery_Outer_Inner', message: 'Outer.Inner' },
    });
  });

  it('maps a FAILURE that carries no exception to celery_error', () => {
    expect(mapCeleryReply(reply('FAILURE', 'worker lost'))).toMatchObject({ error: { code: 'celery_error', message: 'worker lost' } });
    expect(mapCeleryReply(reply('FAILURE', null))).toMatchObject({ error: { code: 'celery_error', message: 'the Celery task failed' } });
  });

  it('keeps a long exception message to 1000 characters', () => {
    const mapped = mapCeleryReply(reply('FAILURE', { exc_type: 'RuntimeError', exc_message: ['x'.repeat(5000)] }));
    expect(mapped.kind === 'event' && mapped.error?.message).toHaveLength(1000);
  });

  it('maps RETRY to RETRY with the exception the task retries for', () => {
    expect(mapCeleryReply(reply('RETRY', { exc_type: 'ConnectionError', exc_message: ['the model server is warming up'], exc_module: 'builtins' }))).toEqual({
      kind: 'event',
      status: 'RETRY',
      error: { code: 'celery_ConnectionError', message: 'the model server is warming up' },
    });
  });

  it('maps REVOKED to REVOKED, but a task that expired before any worker started it to FAILURE celery_expired', () => {
    expect(mapCeleryReply(reply('REVOKED', { exc_type: 'TaskRevokedError', exc_message: ['terminated'] }))).toEqual({
      kind: 'event',
      status: 'REVOKED',
      error: { code: 'revoked', message: 'revoked at the Celery worker (terminated)' },
    });
    expect(mapCeleryReply(reply('REVOKED', { exc_type: 'TaskRevokedError', exc_message: ['expired'] }))).toMatchObject({
      status: 'FAILURE',
      error: { code: 'celery_expired' },
    });
  });

  it('maps a custom state with {current, total} or {progress} meta to progress', () => {
    expect(mapCeleryReply(reply('PROGRESS', { current: 3, total: 4 }))).toEqual({ kind: 'event', status: 'STARTED', progress: 0.75 });
    expect(mapCeleryReply(reply('PROGRESS', { progress: 7 }))).toEqual({ kind: 'event', status: 'STARTED', progress: 1 });
  });

  it('ignores states with no warren counterpart', () => {
    expect(mapCeleryReply(reply('IGNORED', null))).toMatchObject({ kind: 'ignore' });
    expect(mapCeleryReply(reply('CUSTOM', { note: 'half way' }))).toMatchObject({ kind: 'ignore' });
  });
});

describe('attempt numbers of Celery replies, as the recorder applies them', () => {
  /** Bridge each status in turn as the bridge does (attempt from the last known state), through the recorder's rule. */
  const run = (statuses: readonly ('STARTED' | 'RETRY' | 'SUCCESS' | 'FAILURE')[]): { state: TaskProgressState; applied: boolean[] } => {
    let state: TaskProgressState = { status: 'PENDING', attempt: 0, progress: null };
    const applied: boolean[] = [];
    for (const status of statuses) {
      const reduction = reduceTask(state, { status, attempt: attemptOfReply(state) });
      applied.push(reduction.apply);
      if (reduction.apply) state = { status: reduction.status, attempt: reduction.attempt, progress: reduction.progress };
    }
    return { state, applied };
  };

  it('moves STARTED → RETRY → STARTED → SUCCESS forward, counting the run after a retry as the next attempt', () => {
    expect(run(['STARTED', 'RETRY', 'STARTED', 'RETRY', 'STARTED', 'SUCCESS'])).toEqual({
      state: { status: 'SUCCESS', attempt: 3, progress: 1 },
      applied: [true, true, true, true, true, true],
    });
  });

  it('counts attempts without STARTED replies too (task_track_started off): RETRY, RETRY, SUCCESS is attempts 1, 2, 3', () => {
    expect(run(['RETRY', 'RETRY', 'SUCCESS'])).toEqual({ state: { status: 'SUCCESS', attempt: 3, progress: 1 }, applied: [true, true, true] });
  });

  it('starts at attempt 1 from PENDING, and a STARTED sent twice (a redelivered task) changes nothing', () => {
    expect(run(['STARTED', 'STARTED', 'FAILURE'])).toEqual({ state: { status: 'FAILURE', attempt: 1, progress: 0 }, applied: [true, false, true] });
  });
});

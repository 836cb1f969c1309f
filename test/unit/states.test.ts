import { describe, expect, it } from 'vitest';
import { reduceTask, type TaskProgressState } from '../../shared/states.js';

const pending: TaskProgressState = { status: 'PENDING', attempt: 0, progress: null };

describe('task state machine', () => {
  it('moves PENDING to STARTED on the first attempt', () => {
    expect(reduceTask(pending, { status: 'STARTED', attempt: 1 })).toMatchObject({ apply: true, status: 'STARTED', attempt: 1, progress: 0 });
  });

  it('never changes a terminal state, whatever arrives later', () => {
    for (const status of ['SUCCESS', 'FAILURE', 'REVOKED'] as const) {
      const done: TaskProgressState = { status, attempt: 1, progress: 1 };
      for (const late of ['STARTED', 'RETRY', 'SUCCESS', 'FAILURE', 'REVOKED'] as const) {
        expect(reduceTask(done, { status: late, attempt: 2 })).toEqual({ apply: false, reason: 'terminal' });
      }
    }
  });

  it('lets a terminal event win even when it overtakes STARTED', () => {
    expect(reduceTask(pending, { status: 'SUCCESS', attempt: 1 })).toMatchObject({ apply: true, status: 'SUCCESS', attempt: 1, progress: 1 });
  });

  it('ignores a duplicate STARTED', () => {
    const started: TaskProgressState = { status: 'STARTED', attempt: 1, progress: 0 };
    expect(reduceTask(started, { status: 'STARTED', attempt: 1 })).toEqual({ apply: false, reason: 'duplicate' });
  });

  it('ignores a STARTED from an earlier attempt after a RETRY', () => {
    const retrying: TaskProgressState = { status: 'RETRY', attempt: 1, progress: 0.5 };
    expect(reduceTask(retrying, { status: 'STARTED', attempt: 1 })).toEqual({ apply: false, reason: 'stale' });
    expect(reduceTask(retrying, { status: 'STARTED', attempt: 2 })).toMatchObject({ apply: true, status: 'STARTED', attempt: 2 });
  });

  it('moves progress forward only, within the current attempt', () => {
    const started: TaskProgressState = { status: 'STARTED', attempt: 1, progress: 0.4 };
    expect(reduceTask(started, { status: 'STARTED', attempt: 1, progress: 0.6 })).toMatchObject({ apply: true, progress: 0.6, isProgressOnly: true });
    expect(reduceTask(started, { status: 'STARTED', attempt: 1, progress: 0.2 })).toEqual({ apply: false, reason: 'stale' });
  });

  it('gives the same final state for any order of one run’s events', () => {
    const events = [
      { status: 'STARTED', attempt: 1 },
      { status: 'STARTED', attempt: 1, progress: 0.5 },
      { status: 'SUCCESS', attempt: 1 },
    ] as const;
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
      [0, 0, 2, 2, 1],
    ];
    for (const order of orders) {
      let state: TaskProgressState = pending;
      for (const index of order) {
        const next = reduceTask(state, events[index]!);
        if (next.apply) state = { status: next.status, attempt: next.attempt, progress: next.progress };
      }
      expect(state).toEqual({ status: 'SUCCESS', attempt: 1, progress: 1 });
    }
  });
});

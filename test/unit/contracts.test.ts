import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ContractError, DELIVERY_JOB_TYPE, deliveryJobs, taskEvent, taskEvents, taskMessage, taskMessages, type DeliveryJob } from '../../shared/index.js';

const task = taskMessage({
  task_id: randomUUID(),
  processor: 'echo',
  submitted_at: new Date().toISOString(),
  attempt: 1,
  input: { fields: { item_a: 'TV', item_b: 'Samsung' }, files: [] },
});

describe('message contracts v1', () => {
  it('round-trips a task message', () => {
    expect(taskMessages.decode(taskMessages.encode(task))).toEqual(task);
  });

  it('round-trips a task event', () => {
    const event = taskEvent(task, { status: 'SUCCESS', attempt: 1, result: { ok: true } });
    expect(taskEvents.decode(taskEvents.encode(event))).toEqual(event);
  });

  it('refuses a body that is not JSON, naming the problem', () => {
    expect(() => taskMessages.decode('{nope')).toThrow(new ContractError('body is not valid JSON'));
  });

  it('refuses a task without type and version', () => {
    const { type: _type, version: _version, ...bare } = task;
    expect(() => taskMessages.decode(JSON.stringify(bare))).toThrow(/TaskMessage invalid: .*type/);
  });

  it('refuses a future version instead of guessing', () => {
    expect(() => taskMessages.decode(JSON.stringify({ ...task, version: 2 }))).toThrow(ContractError);
  });

  it('refuses an event with an unknown status or progress out of range', () => {
    const event = taskEvent(task, { status: 'STARTED', attempt: 1 });
    expect(() => taskEvents.decode(JSON.stringify({ ...event, status: 'DONE' }))).toThrow(ContractError);
    expect(() => taskEvents.decode(JSON.stringify({ ...event, progress: 1.5 }))).toThrow(ContractError);
  });

  it('accepts extra properties from a newer producer of the same version', () => {
    expect(taskMessages.check({ ...task, trace_id: 'abc' })).toBe(true);
  });

  it('refuses a task id that is not a UUID', () => {
    expect(taskMessages.check({ ...task, task_id: '../../etc/passwd' })).toBe(false);
  });
});

describe('delivery job contract v1', () => {
  /** A job as gateways published it before jobs named their owner or counted deferrals. */
  const older: DeliveryJob = {
    type: DELIVERY_JOB_TYPE,
    version: 1,
    delivery_id: randomUUID(),
    task_id: randomUUID(),
    processor: 'echo',
    target_id: 'webhook',
    target: { kind: 'webhook', url: 'https://hooks.example/warren', events: ['completed'] },
    event: 'completed',
    round: 1,
    attempt: 1,
    document: { status: 'SUCCESS' },
    result: { ok: true },
    artifacts: [],
  };

  it('still takes a job without an owner or deferrals', () => {
    expect(deliveryJobs.decode(deliveryJobs.encode(older))).toEqual(older);
  });

  it("round-trips the owner's key and the deferral count", () => {
    const job = { ...older, owner: 'alice', deferrals: 3 };
    expect(deliveryJobs.decode(deliveryJobs.encode(job))).toEqual(job);
  });

  it('refuses an empty owner and a deferral count below 1', () => {
    expect(deliveryJobs.check({ ...older, owner: '' })).toBe(false);
    expect(deliveryJobs.check({ ...older, deferrals: 0 })).toBe(false);
  });
});

import { randomUUID } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../gateway/store/index.js';
import { submitForm, waitForTerminal, type Submitted } from '../support/client.js';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/**
 * The task outbox with real processes: a PENDING row whose publish was never confirmed — what a
 * gateway that died mid-submit leaves — is published by a gateway's sweeper and runs; a task
 * submitted normally is noted as confirmed and left alone.
 */
const stack = testStack('outbox', { TASK_SWEEP_GRACE_MS: '1000' });
let gateway: Gateway;

beforeAll(async () => {
  [gateway] = await Promise.all([stack.gateway(), stack.worker()]);
});

afterAll(() => stack.stop());

const storeFile = (): string => path.join(stack.dataDir, 'warren.db');

describe('the task outbox', () => {
  it('notes the confirm of a normal submit, so the sweeper never republishes it', async () => {
    const { task_id } = (await (await submitForm(gateway.url, { item_a: 'normal' })).json()) as Submitted;
    expect((await waitForTerminal(gateway.url, task_id)).status).toBe('SUCCESS');
    const db = new Database(storeFile(), { readonly: true });
    try {
      const deadline = Date.now() + 5000;
      let confirmedAt: number | null = null;
      while (confirmedAt === null && Date.now() < deadline) {
        confirmedAt = db.prepare<[string], { confirmed_at: number | null }>('SELECT confirmed_at FROM tasks WHERE id = ?').get(task_id)!.confirmed_at;
        if (confirmedAt === null) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(confirmedAt).not.toBeNull();
    } finally {
      db.close();
    }
  });

  it('publishes a PENDING task whose gateway died before the broker confirmed it, and it runs to SUCCESS', async () => {
    // What the crash leaves: the row, no message, no confirm noted.
    const store = await openStore(`sqlite:${storeFile()}`);
    const id = randomUUID();
    try {
      await store.insertPending({ id, processor: 'echo', input: { fields: { item_a: 'orphaned' }, files: [] }, createdAt: Date.now() - 5000 });
    } finally {
      await store.close();
    }
    const status = await waitForTerminal(gateway.url, id, 20_000);
    expect(status.status).toBe('SUCCESS');
    expect(await (await fetch(`${gateway.url}/task_result/${id}`)).json()).toEqual({ fields: { item_a: 'orphaned' }, files: [] });
  });
});

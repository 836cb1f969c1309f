import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STORE_BACKENDS, type StoreLocation } from '../support/store-backends.js';
import { taskEvent } from '../../shared/index.js';
import { openStore, type TaskStore } from '../../gateway/store/index.js';

/**
 * Two gateways share one store: one gateway's recorder applies a batch of events while the other
 * (or the same one) marks the publishes it just confirmed. Both touch the same rows. On PostgreSQL
 * they must lock those rows in one order, or the server answers "deadlock detected" and the
 * recorder backs off for whole seconds (seen as a 2 s end-to-end p99 in `npm run bench -- peers`).
 */
describe.each(STORE_BACKENDS)('the $name task store under concurrent writers', (backend) => {
  let location: StoreLocation;
  let stores: TaskStore[];

  beforeEach(async () => {
    location = await backend.location();
    stores = [await openStore(location.url), await openStore(location.url)];
  });

  afterEach(async () => {
    for (const store of stores) await store.close();
    await location.remove();
  });

  it('confirms and records the same tasks at once, in opposite orders, without a deadlock', async () => {
    const [recorder, submitter] = stores;
    for (let round = 0; round < 15; round++) {
      const ids = Array.from({ length: 40 }, () => randomUUID());
      for (const id of ids) await submitter.insertPending({ id, processor: 'echo', input: { fields: {}, files: [] }, createdAt: Date.now() });
      const started = ids.map((id) => taskEvent({ task_id: id, processor: 'echo' }, { status: 'STARTED', attempt: 1 }));
      const reversed = [...ids].reverse();
      // Several statements of each kind in flight at once, over interleaved halves of the rows.
      await Promise.all([
        recorder.applyEvents(started),
        submitter.markConfirmed(reversed, Date.now()),
        recorder.applyEvents([...started].reverse()),
        submitter.markConfirmed(ids, Date.now()),
        submitter.unclaim(reversed.slice(0, 20)),
      ]);
      const statuses = await Promise.all(ids.map(async (id) => (await recorder.get(id))?.status));
      expect(new Set(statuses)).toEqual(new Set(['STARTED']));
    }
  }, 60_000);
});

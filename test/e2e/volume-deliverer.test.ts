import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createVolumeDeliverer } from '../../worker/deliverers/volume.js';
import { deliveryFixtures, directoryDigests, sha256 } from '../support/delivery-package.js';

const MiB = 1024 * 1024;

describe('volume deliverer', () => {
  const volume = createVolumeDeliverer();
  const fixtures = deliveryFixtures();

  afterEach(() => fixtures.cleanup());

  it('writes DATA_DIR/results/<path>/<task_id>/ with copies of the artifacts, result.json and status.json', async () => {
    const made = await fixtures.make([
      { name: 'big.bin', size: 3 * MiB },
      { name: 'page.txt', size: 100 },
    ]);
    const { location } = await volume.deliver(made.delivery, { path: 'client/c' }, made.ctx);

    expect(location).toBe(`volume:results/client/c/${made.delivery.taskId}/`);
    const parent = path.join(made.dataDir, 'results', 'client', 'c');
    expect(directoryDigests(path.join(parent, made.delivery.taskId))).toEqual(
      new Map([
        ['big.bin', made.digests.get('big.bin')],
        ['page.txt', made.digests.get('page.txt')],
        ['result.json', sha256(made.resultJson)],
        ['status.json', sha256(made.statusJson)],
      ]),
    );
    // The staging directory is gone, and the artifacts are copies: the originals stay where task_result serves them.
    expect(fs.readdirSync(parent)).toEqual([made.delivery.taskId]);
    expect(fs.existsSync(path.join(made.dataDir, 'artifacts', made.delivery.taskId, 'big.bin'))).toBe(true);
  });

  it('shows nothing when a delivery stops half-way: the directory appears whole or not at all', async () => {
    const made = await fixtures.make([
      { name: 'a.bin', size: 1000 },
      { name: 'b.bin', size: 1000 },
    ]);
    // The deliverer checks the signal before each file; this one turns aborted once the first file is in.
    const controller = new AbortController();
    let checks = 0;
    const signal = {
      get aborted() {
        if (++checks === 2) controller.abort(new Error('shutdown'));
        return controller.signal.aborted;
      },
      get reason() {
        return controller.signal.reason as unknown;
      },
    } as AbortSignal;
    await expect(volume.deliver(made.delivery, {}, { ...made.ctx, signal })).rejects.toMatchObject({ code: 'aborted', permanent: false });
    expect(checks).toBe(2);
    expect(fs.readdirSync(path.join(made.dataDir, 'results'))).toEqual([]);
  });

  it('replaces an earlier delivery of the task whole, leaving nothing of the old one', async () => {
    const made = await fixtures.make([{ name: 'old.bin', size: 500 }]);
    await volume.deliver(made.delivery, {}, made.ctx);
    const again = await fixtures.make([{ name: 'new.bin', size: 700 }]);
    const redelivery = { ...again.delivery, taskId: made.delivery.taskId, status: { redelivered: true } };
    await volume.deliver(redelivery, {}, again.ctx);

    const final = path.join(again.dataDir, 'results', made.delivery.taskId);
    expect([...directoryDigests(final).keys()].sort()).toEqual(['new.bin', 'result.json', 'status.json']);
    expect(fs.readFileSync(path.join(final, 'status.json'), 'utf8')).toBe('{"redelivered":true}');
  });

  it('survives concurrent redeliveries of one task: one complete directory, no leftovers', async () => {
    const made = await fixtures.make([{ name: 'a.bin', size: 2000 }]);
    await Promise.all([1, 2, 3, 4].map(() => volume.deliver(made.delivery, {}, made.ctx)));
    const parent = path.join(made.dataDir, 'results');
    expect(fs.readdirSync(parent)).toEqual([made.delivery.taskId]);
    expect([...directoryDigests(path.join(parent, made.delivery.taskId)).keys()].sort()).toEqual(['a.bin', 'result.json', 'status.json']);
  });

  it('refuses a path that would leave the results directory', async () => {
    const made = await fixtures.make();
    await expect(volume.deliver(made.delivery, { path: '../uploads' }, made.ctx)).rejects.toMatchObject({ code: 'invalid_path', permanent: true });
    expect(fs.existsSync(path.join(made.dataDir, 'results'))).toBe(false);
  });

  it('fails permanently with artifact_missing when an artifact is gone, writing nothing', async () => {
    const made = await fixtures.make([{ name: 'gone.bin', size: 10 }]);
    fs.rmSync(path.join(made.dataDir, 'artifacts'), { recursive: true });
    await expect(volume.deliver(made.delivery, {}, made.ctx)).rejects.toMatchObject({ code: 'artifact_missing', permanent: true });
    expect(fs.existsSync(path.join(made.dataDir, 'results'))).toBe(false);
  });
});

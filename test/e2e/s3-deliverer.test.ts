import { randomUUID } from 'node:crypto';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseS3Destinations } from '../../shared/index.js';
import { DeliveryError } from '../../worker/deliverers/errors.js';
import { createS3Deliverer } from '../../worker/deliverers/s3.js';
import type { FileDeliverer } from '../../worker/deliverers/types.js';
import { deliveryFixtures, streamSha256 } from '../support/delivery-package.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';

const MiB = 1024 * 1024;
const PART_SIZE = 5 * MiB; // S3's minimum, so a 12 MiB artifact takes three parts
const BUCKET = 'results';

describe('S3 deliverer (against s3rver)', () => {
  let server: TestS3Server;
  let reader: S3Client;
  const fixtures = deliveryFixtures();
  const deliverers: FileDeliverer[] = [];

  beforeAll(async () => {
    server = await startS3Server([BUCKET]);
    reader = new S3Client({
      region: 'us-east-1',
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    });
  });

  afterEach(async () => {
    fixtures.cleanup();
    for (const created of deliverers.splice(0)) await created.close?.();
  });

  afterAll(async () => {
    reader.destroy();
    await server.close();
  });

  function deliverer(overrides: Record<string, unknown> = {}): FileDeliverer {
    const destinations = parseS3Destinations(
      JSON.stringify({
        archive: {
          bucket: BUCKET,
          endpoint: server.endpoint,
          forcePathStyle: true,
          accessKeyId: server.accessKeyId,
          secretAccessKey: server.secretAccessKey,
          prefix: `warren-${randomUUID()}/out`,
          ...overrides,
        },
      }),
    );
    const created = createS3Deliverer(destinations, { partSizeBytes: PART_SIZE });
    deliverers.push(created);
    return created;
  }

  async function object(key: string) {
    const answer = await reader.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return { sha: await streamSha256(answer.Body as Readable), contentType: answer.ContentType };
  }

  it('delivers artifacts, result.json and status.json byte for byte under prefix/path/<task_id>/', async () => {
    const s3 = deliverer({ prefix: 'warren/out' });
    const made = await fixtures.make([
      { name: 'big.bin', size: 12 * MiB },
      { name: 'summary.txt', size: 2000, contentType: 'text/plain' },
    ]);
    const first = server.requests.length;
    const { location } = await s3.deliver(made.delivery, { destination: 'archive', path: 'client/a' }, made.ctx);

    const prefix = `warren/out/client/a/${made.delivery.taskId}/`;
    expect(location).toBe(`s3://${BUCKET}/${prefix}`);
    // s3rver cannot sign-check a ListObjects request, so what was written is read from its request log.
    const written = new Set(server.requests.slice(first).map((line) => /^(?:PUT|POST) \/results\/([^?]+)/.exec(line)?.[1]));
    written.delete(undefined);
    expect([...written].sort()).toEqual(['big.bin', 'result.json', 'status.json', 'summary.txt'].map((name) => prefix + name));
    expect(await object(`${prefix}big.bin`)).toEqual({ sha: made.digests.get('big.bin'), contentType: 'application/octet-stream' });
    expect(await object(`${prefix}summary.txt`)).toEqual({ sha: made.digests.get('summary.txt'), contentType: 'text/plain' });
    const result = await reader.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${prefix}result.json` }));
    expect(result.ContentType).toBe('application/json');
    expect(await result.Body?.transformToString()).toBe(made.resultJson);
    const status = await reader.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${prefix}status.json` }));
    expect(await status.Body?.transformToString()).toBe(made.statusJson);
  });

  it('uploads an artifact larger than the part size in parts, and writes status.json last', async () => {
    const s3 = deliverer();
    const made = await fixtures.make([{ name: 'big.bin', size: 12 * MiB }]);
    const first = server.requests.length;
    await s3.deliver(made.delivery, { destination: 'archive' }, made.ctx);

    const requests = server.requests.slice(first);
    const parts = requests.filter((line) => /^PUT .*\/big\.bin\?.*partNumber=\d+/.test(line));
    expect(parts).toHaveLength(3);
    expect(requests.some((line) => /^POST .*\/big\.bin\?uploads/.test(line))).toBe(true);
    const order = requests.filter((line) => /^(PUT|POST) /.test(line) && !line.includes('partNumber=') && !line.includes('?uploads'));
    expect(order.map((line) => line.split('?')[0]!.split('/').pop())).toEqual(['big.bin', 'result.json', 'status.json']);
  });

  it('keys on the task id alone when there is neither prefix nor path', async () => {
    const s3 = deliverer({ prefix: undefined });
    const made = await fixtures.make();
    const { location } = await s3.deliver(made.delivery, { destination: 'archive' }, made.ctx);
    expect(location).toBe(`s3://${BUCKET}/${made.delivery.taskId}/`);
    expect((await object(`${made.delivery.taskId}/status.json`)).contentType).toBe('application/json');
  });

  it('refuses an unknown destination permanently', async () => {
    const s3 = deliverer();
    const made = await fixtures.make();
    const failure = await s3.deliver(made.delivery, { destination: 'elsewhere' }, made.ctx).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DeliveryError);
    expect(failure).toMatchObject({ code: 'unknown_destination', permanent: true });
  });

  it('fails wrong credentials as a transient access error that does not contain the secret', async () => {
    const secret = `wrong-secret-${randomUUID()}`;
    const s3 = deliverer({ accessKeyId: 'S3RVER', secretAccessKey: secret });
    const made = await fixtures.make([{ name: 'a.bin', size: 10 }]);
    const failure = (await s3.deliver(made.delivery, { destination: 'archive' }, made.ctx).catch((error: unknown) => error)) as DeliveryError;
    expect(failure).toBeInstanceOf(DeliveryError);
    expect(failure).toMatchObject({ code: 'access_denied', permanent: false, httpStatus: 403 });
    expect(failure.message).toMatch(/credentials/);
    expect(failure.message).not.toContain(secret);
    expect(JSON.stringify({ ...failure, message: failure.message })).not.toContain(secret);
  });

  it('fails permanently with artifact_missing when an artifact is gone from the volume', async () => {
    const s3 = deliverer();
    const made = await fixtures.make([{ name: 'gone.bin', size: 10 }]);
    made.delivery.artifacts[0]!.location = `volume:artifacts/${made.delivery.taskId}/not-there.bin`;
    await expect(s3.deliver(made.delivery, { destination: 'archive' }, made.ctx)).rejects.toMatchObject({ code: 'artifact_missing', permanent: true });
  });

  it('stops mid-upload when the delivery is aborted, before writing status.json', async () => {
    const s3 = deliverer();
    const controller = new AbortController();
    const made = await fixtures.make([{ name: 'big.bin', size: 12 * MiB }], { signal: controller.signal });
    const first = server.requests.length;
    server.onRequest = (line) => {
      if (line.includes('partNumber=')) controller.abort(new Error('shutdown'));
    };
    try {
      await expect(s3.deliver(made.delivery, { destination: 'archive' }, made.ctx)).rejects.toMatchObject({ code: 'aborted', permanent: false });
    } finally {
      server.onRequest = undefined;
    }
    expect(server.requests.slice(first).some((line) => line.includes('status.json'))).toBe(false);
  });
});

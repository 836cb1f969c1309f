import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskMessage, taskMessages } from '../../shared/index.js';
import { publishRaw } from '../support/broker.js';
import { waitForTerminal, type Submitted } from '../support/client.js';
import { streamSha256 } from '../support/delivery-package.js';
import type { Gateway, WarrenProcess } from '../support/processes.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';
import { testStack } from '../support/stack.js';

/** UPLOAD_STORE=s3:inputs — uploads stream to a bucket, messages carry s3:// references, workers read from S3. */
const BUCKET = 'inputs';
const PREFIX = `warren-${randomUUID()}`;
const PNG = fs.readFileSync(path.resolve('test/fixtures/invoice.png'));
const stack = testStack('s3-inputs', { WORKER_PROCESSORS: 'echo,thumbnail', UPLOAD_STORE: 's3:inputs' });
// A prefix of its own with no worker and a task queue that holds 2 (a quorum queue takes limit + 1).
const full = testStack('s3-inputs-full', { UPLOAD_STORE: 's3:inputs', TASK_QUEUE_MAX_LENGTH: '1' });
let s3: TestS3Server;
let reader: S3Client;
let gateway: Gateway;
let worker: WarrenProcess;
/** A gateway whose upload store names a bucket that does not exist. */
let broken: Gateway;
let lonely: Gateway;

function destinations(bucket = BUCKET): string {
  return JSON.stringify({
    inputs: { bucket, endpoint: s3.endpoint, forcePathStyle: true, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, prefix: PREFIX },
  });
}

beforeAll(async () => {
  s3 = await startS3Server([BUCKET]);
  reader = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  // All at once: each start costs a second or two, each prefix its topology.
  [worker, gateway, broken, lonely] = await Promise.all([
    stack.worker({ S3_DESTINATIONS: destinations() }),
    stack.gateway({ S3_DESTINATIONS: destinations() }),
    stack.gateway({ S3_DESTINATIONS: destinations('no-such-bucket') }),
    full.gateway({ S3_DESTINATIONS: destinations() }),
  ]);
});

afterAll(async () => {
  await Promise.all([stack.stop(), full.stop()]);
  reader?.destroy();
  await s3?.close();
});

function upload(url: string, processor: string, name: string, data: Blob): Promise<Response> {
  const form = new FormData();
  form.set('processor', processor);
  form.append('file', data, name);
  return fetch(`${url}/uploader`, { method: 'POST', body: form, headers: { accept: 'application/json' } });
}

/** Every regular file under DATA_DIR/<dir> (the upload staging area, the worker's downloads). */
function filesUnder(dir: string): string[] {
  const root = path.join(stack.dataDir, dir);
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((entry) => fs.statSync(path.join(root, entry)).isFile());
}

/** The object writes s3rver saw since request number `from` (PUT, or POST for a multipart upload). */
function writesSince(from: number): string[] {
  return s3.requests.slice(from).filter((line) => /^(PUT|POST) /.test(line));
}

function taskRows(dataDir = stack.dataDir): { id: string; input: string; error_code: string | null }[] {
  const db = new Database(path.join(dataDir, 'warren.db'), { readonly: true });
  try {
    return db.prepare('SELECT id, input, error_code FROM tasks ORDER BY rowid').all() as { id: string; input: string; error_code: string | null }[];
  } finally {
    db.close();
  }
}

describe('inputs in S3', () => {
  it('streams an upload to the bucket, hands the worker an s3:// reference, and the thumbnail succeeds from it', async () => {
    const response = await upload(gateway.url, 'thumbnail', 'invoice.png', new Blob([PNG], { type: 'image/png' }));
    expect(response.status).toBe(202);
    const { task_id } = (await response.json()) as Submitted;
    const status = await waitForTerminal(gateway.url, task_id);
    expect(status.status).toBe('SUCCESS');
    expect(status.artifacts).toMatchObject([{ name: 'thumbnail.webp', content_type: 'image/webp' }]);

    const key = `${PREFIX}/uploads/${task_id}/0-invoice.png`;
    const object = await reader.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(object.ContentType).toBe('image/png');
    expect(await streamSha256(object.Body as Readable)).toBe(createHash('sha256').update(PNG).digest('hex'));
    // The task message carried the reference (the stored input is what was published), and the worker read it from S3.
    const row = taskRows().find((r) => r.id === task_id)!;
    expect(JSON.parse(row.input)).toMatchObject({
      files: [{ name: 'invoice.png', content_type: 'image/png', size: PNG.length, location: `s3://${BUCKET}/${key}` }],
    });
    expect(s3.requests).toContain(`GET /${BUCKET}/${key}?x-id=GetObject`);
    // Neither the gateway's staged copy nor the worker's download is left on disk.
    expect(filesUnder('uploads')).toEqual([]);
    expect(filesUnder('inputs')).toEqual([]);
  });

  it('refuses text posing as a .png with 415 and writes nothing to the bucket', async () => {
    const before = s3.requests.length;
    const response = await upload(gateway.url, 'thumbnail', 'invoice.png', new Blob(['not an image at all\n'], { type: 'image/png' }));
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: { code: 'unsupported_file_type' } });
    expect(writesSince(before)).toEqual([]);
    expect(filesUnder('uploads')).toEqual([]);
  });

  it('answers 503 upload_store_unavailable when the bucket refuses the file, and leaves no task and no object', async () => {
    const tasksBefore = taskRows().length;
    const before = s3.requests.length;
    const response = await upload(broken.url, 'thumbnail', 'invoice.png', new Blob([PNG], { type: 'image/png' }));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBeTruthy();
    expect(await response.json()).toMatchObject({ error: { code: 'upload_store_unavailable' } });
    const metrics = await (await fetch(new URL('/metrics', broken.url))).text();
    expect(metrics).toMatch(/^warren_tasks_rejected_total\{reason="upload_store_unavailable"\} 1$/m);
    // The one write tried was refused by the missing bucket; nothing reached a bucket that exists.
    const writes = writesSince(before);
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.filter((line) => !line.startsWith('PUT /no-such-bucket/'))).toEqual([]);
    expect(taskRows().length).toBe(tasksBefore);
    expect(filesUnder('uploads')).toEqual([]);
  });

  it('removes the uploaded object of a task the broker refuses (503)', async () => {
    const statuses: number[] = [];
    for (let n = 0; n < 3; n += 1) {
      const response = await upload(lonely.url, 'thumbnail', 'invoice.png', new Blob([PNG], { type: 'image/png' }));
      statuses.push(response.status);
      await response.body?.cancel();
    }
    expect(statuses).toEqual([202, 202, 503]);
    const refused = taskRows(full.dataDir).find((row) => row.error_code === 'not_accepted')!;
    const { location } = (JSON.parse(refused.input) as { files: { location: string }[] }).files[0]!;
    const key = location.slice(`s3://${BUCKET}/`.length);
    expect(s3.requests).toContain(`DELETE /${BUCKET}/${key}?x-id=DeleteObject`);
    await expect(reader.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  /** Publish a thumbnail task straight to the queue (as a buggy or foreign producer might) and wait for the worker's verdict. */
  async function runWithInput(taskId: string, location: string): Promise<Record<string, unknown>> {
    const input = { fields: {}, files: [{ name: 'gone.png', content_type: 'image/png', size: 1, location }] };
    await publishRaw(
      `${stack.prefix}.tasks`,
      'thumbnail',
      taskMessages.encode(taskMessage({ task_id: taskId, processor: 'thumbnail', submitted_at: new Date().toISOString(), attempt: 1, input })),
    );
    return worker.waitForLog((line) => line.taskId === taskId && typeof line.msg === 'string' && line.msg.startsWith('task failed'));
  }

  it('fails a task whose input object is gone permanently, naming the object, without retrying', async () => {
    const taskId = randomUUID();
    const location = `s3://${BUCKET}/${PREFIX}/uploads/${taskId}/0-gone.png`;
    const failed = await runWithInput(taskId, location);
    expect(failed).toMatchObject({ msg: 'task failed', code: 'input_missing' });
    expect(String(failed.err)).toContain(location);
    expect(filesUnder('inputs')).toEqual([]);
  });

  it("never reads an object outside the task's own uploads, whatever the message names", async () => {
    const before = s3.requests.length;
    const failed = await runWithInput(randomUUID(), `s3://${BUCKET}/${PREFIX}/uploads/${randomUUID()}/0-someone-else.png`);
    expect(failed).toMatchObject({ msg: 'task failed', code: 'unsafe_location' });
    expect(s3.requests.slice(before)).toEqual([]);
  });
});

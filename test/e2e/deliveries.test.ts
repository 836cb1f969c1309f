import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusDocument, Submitted } from '../support/client.js';
import { startFtpServer, type TestFtpServer } from '../support/ftp-server.js';
import type { Gateway } from '../support/processes.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';
import { testStack } from '../support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * One task, four targets: a signed webhook, an S3 bucket (a real S3-compatible server), an FTP
 * server and the shared volume — each delivered on its own, each byte-identical to what
 * task_result serves. Real gateway and worker processes; the servers run on 127.0.0.1.
 */
const BUCKET = 'results';
const secret = `whsec_${randomBytes(32).toString('base64')}`;
let s3: TestS3Server;
let ftp: TestFtpServer;
let receiver: WebhookReceiver;
let gateway: Gateway;
let stack: ReturnType<typeof testStack>;

beforeAll(async () => {
  [s3, ftp, receiver] = await Promise.all([startS3Server([BUCKET]), startFtpServer(), startWebhookReceiver(secret, () => ({ status: 200 }))]);
  stack = testStack('deliveries', {
    WORKER_PROCESSORS: 'echo,thumbnail',
    WEBHOOK_SECRET: secret,
    WEBHOOK_ALLOWLIST: '127.0.0.1',
    S3_DESTINATIONS: JSON.stringify({
      archive: {
        bucket: BUCKET,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        prefix: 'warren',
      },
    }),
    FTP_DESTINATIONS: JSON.stringify({ drop: { host: '127.0.0.1', port: ftp.port, user: ftp.user, password: ftp.password, root: '/' } }),
  });
  [gateway] = await Promise.all([stack.gateway(), stack.worker()]);
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([s3?.close(), ftp?.close(), receiver?.close()]);
});

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function allDelivered(
  taskId: string,
  timeoutMs = 20_000,
): Promise<StatusDocument & { deliveries: { target: string; state: string; location: string | null }[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const document = (await (await fetch(`${gateway.url}/task_status/${taskId}`)).json()) as StatusDocument & {
      deliveries: { target: string; state: string; location: string | null; last_error: unknown }[];
    };
    if (document.deliveries.length === 4 && document.deliveries.every((d) => d.state === 'DELIVERED')) return document;
    if (document.deliveries.some((d) => d.state === 'FAILED') || Date.now() > deadline) throw new Error(`deliveries: ${JSON.stringify(document.deliveries)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function fromS3(key: string): Promise<Uint8Array> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    return await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray();
  } finally {
    client.destroy();
  }
}

describe('delivering to webhook, S3, FTP and the volume at once', () => {
  it('delivers a JSON result to all four targets, each byte-identical to task_result', async () => {
    const response = await fetch(`${gateway.url}/uploader`, {
      method: 'POST',
      headers: { accept: 'application/json' },
      body: new URLSearchParams({
        item_a: 'TV',
        item_b: 'Samsung',
        webhook_url: receiver.url('/all'),
        s3: 'archive',
        s3_prefix: 'tv',
        ftp: 'drop',
        ftp_path: 'in',
        volume: 'true',
      }),
    });
    expect(response.status).toBe(202);
    const { task_id: id } = (await response.json()) as Submitted;
    const status = await allDelivered(id);
    expect(status.status).toBe('SUCCESS');
    const locations = Object.fromEntries(status.deliveries.map((d) => [d.target, d.location]));
    expect(locations).toMatchObject({ s3: `s3://${BUCKET}/warren/tv/${id}/`, volume: `volume:results/${id}/` });
    expect(locations.ftp).toMatch(new RegExp(`^ftp://127\\.0\\.0\\.1:${ftp.port}/in/${id}/$`));
    expect(JSON.stringify(status)).not.toContain(s3.secretAccessKey);
    expect(JSON.stringify(status)).not.toContain(ftp.password);

    const served = new Uint8Array(await (await fetch(`${gateway.url}/task_result/${id}`)).arrayBuffer());
    const webhook = receiver.received.find((r) => r.json.data.task_id === id)!;
    expect(webhook.verified).toBe(true);
    expect(JSON.stringify(webhook.json.data.result)).toBe(Buffer.from(served).toString('utf8'));
    expect(sha256(await fromS3(`warren/tv/${id}/result.json`))).toBe(sha256(served));
    expect(sha256(fs.readFileSync(path.join(ftp.root, 'in', id, 'result.json')))).toBe(sha256(served));
    expect(sha256(fs.readFileSync(path.join(stack.dataDir, 'results', id, 'result.json')))).toBe(sha256(served));
    // status.json, written last everywhere, is the task's status document.
    expect(JSON.parse(fs.readFileSync(path.join(stack.dataDir, 'results', id, 'status.json'), 'utf8'))).toMatchObject({ task_id: id, status: 'SUCCESS' });
  });

  it('delivers an output file byte for byte as task_result serves it', async () => {
    const form = new FormData();
    form.set('processor', 'thumbnail');
    form.set('width', '120');
    for (const [key, value] of Object.entries({ s3: 'archive', ftp: 'drop', volume: 'true', webhook_url: receiver.url('/thumb') })) form.set(key, value);
    form.set('file', new Blob([fs.readFileSync(new URL('../fixtures/invoice.png', import.meta.url))]), 'invoice.png');
    const response = await fetch(`${gateway.url}/uploader`, { method: 'POST', body: form, headers: { accept: 'application/json' } });
    expect(response.status).toBe(202);
    const { task_id: id } = (await response.json()) as Submitted;
    const status = await allDelivered(id);
    const [artifact] = status.artifacts as { name: string }[];
    const served = new Uint8Array(await (await fetch(`${gateway.url}/task_result/${id}`)).arrayBuffer());
    expect(served.length).toBeGreaterThan(100);
    expect(sha256(await fromS3(`warren/${id}/${artifact!.name}`))).toBe(sha256(served));
    expect(sha256(fs.readFileSync(path.join(ftp.root, id, artifact!.name)))).toBe(sha256(served));
    expect(sha256(fs.readFileSync(path.join(stack.dataDir, 'results', id, artifact!.name)))).toBe(sha256(served));
  });
});

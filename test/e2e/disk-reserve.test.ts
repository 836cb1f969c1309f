import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testStack } from '../support/stack.js';
import { mountSmallDisk } from '../support/tmpfs.js';

/**
 * MIN_FREE_DISK_BYTES is a reserve no upload may eat into — also one sent chunked, which declares
 * no Content-Length for the up-front check to weigh: the staging storage checks the reserve again
 * as the bytes arrive, and refuses 507 with Retry-After, leaving no file behind.
 */
const disk = mountSmallDisk('disk-reserve', 64 * 1024 * 1024);
const stack = testStack('disk-reserve', {
  DATA_DIR: disk?.dir ?? '/nonexistent',
  MIN_FREE_DISK_BYTES: String(32 * 1024 * 1024),
  MAX_UPLOAD_BYTES: String(100 * 1024 * 1024),
  MAX_UPLOAD_TOTAL_BYTES: String(100 * 1024 * 1024),
});
afterAll(async () => {
  await stack.stop().catch(() => {});
  disk?.unmount();
});

/** A multipart body of one `bytes`-long file, sent chunked (no Content-Length). */
function chunkedUpload(bytes: number): { body: ReadableStream<Uint8Array>; contentType: string } {
  const boundary = 'warrenReserveTest';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const chunk = Buffer.alloc(1024 * 1024, 'a');
  let sent = -1;
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    body: new ReadableStream({
      pull(controller) {
        if (sent < 0) controller.enqueue(head);
        else if (sent < bytes) controller.enqueue(chunk.subarray(0, Math.min(chunk.length, bytes - sent)));
        else {
          controller.enqueue(tail);
          controller.close();
        }
        sent = sent < 0 ? 0 : sent + chunk.length;
      },
    }),
  };
}

describe.skipIf(!disk)('the disk reserve', () => {
  it('refuses a chunked upload that would eat into MIN_FREE_DISK_BYTES with 507, and leaves no file behind', async () => {
    const gateway = await stack.gateway();
    const { body, contentType } = chunkedUpload(48 * 1024 * 1024);
    const response = await fetch(`${gateway.url}/uploader`, {
      method: 'POST',
      body,
      headers: { 'content-type': contentType, accept: 'application/json' },
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(507);
    expect(response.headers.get('retry-after')).toBe('60');
    expect(await response.json()).toMatchObject({ error: { code: 'insufficient_storage' } });
    const staged = path.join(disk!.dir, 'uploads', '.incoming');
    const left = fs.existsSync(staged)
      ? (fs.readdirSync(staged, { recursive: true }) as string[]).filter((entry) => fs.statSync(path.join(staged, entry)).isFile())
      : [];
    expect(left).toEqual([]);
    const { bavail, bsize } = fs.statfsSync(disk!.dir);
    expect(bavail * bsize).toBeGreaterThan(32 * 1024 * 1024);
  });
});

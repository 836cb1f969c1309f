import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForTerminal, type Submitted } from '../support/client.js';
import type { Gateway } from '../support/processes.js';
import { testStack } from '../support/stack.js';

/** Uploads through HTTP: streamed to the volume, sniffed, limited, and served back as artifacts. */
const stack = testStack(
  'files',
  { MAX_UPLOAD_BYTES: '10485760', WORKER_PROCESSORS: 'echo,word-count', PROCESSORS_DIR: path.resolve('docs/examples/processors') },
  { extraProcessors: ['word-count'] },
);
let gateway: Gateway;
/** A gateway that thinks the volume is nearly full: it wants more free space than any disk has. */
let fullGateway: Gateway;

beforeAll(async () => {
  [, gateway, fullGateway] = await Promise.all([stack.worker(), stack.gateway(), stack.gateway({ MIN_FREE_DISK_BYTES: String(2 ** 52) })]);
});

afterAll(() => stack.stop());

function upload(fields: Record<string, string>, files: { field?: string; name: string; data: Blob }[]): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  for (const file of files) form.append(file.field ?? 'file', file.data, file.name);
  return fetch(`${gateway.url}/uploader`, { method: 'POST', body: form, headers: { accept: 'application/json' } });
}

/** Every regular file under DATA_DIR/uploads (staging included). */
function uploadedFiles(): string[] {
  const root = path.join(stack.dataDir, 'uploads');
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((entry) => fs.statSync(path.join(root, entry)).isFile());
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

describe('uploads', () => {
  it('runs your own processor from PROCESSORS_DIR on an uploaded file and serves its artifact', async () => {
    const listing = (await (await fetch(`${gateway.url}/processors`)).json()) as { processors: { name: string; files: unknown }[] };
    expect(listing.processors.map((p) => p.name)).toEqual(['categorize', 'document', 'ical', 'thumbnail', 'echo', 'word-count']);

    const response = await upload({ processor: 'word-count', top: '2' }, [{ name: '../../etc/notes.txt', data: new Blob(['the cat and the hat\nthe end\n']) }]);
    expect(response.status).toBe(202);
    const { task_id } = (await response.json()) as Submitted;
    const status = await waitForTerminal(gateway.url, task_id);
    expect(status.status).toBe('SUCCESS');
    expect(status.artifacts).toEqual([
      { name: 'top-words.csv', content_type: 'text/csv', size: 23, url: `/prediction/task_result/${task_id}/artifacts/top-words.csv` },
    ]);

    // One artifact: task_result is that file, with its type and a download name.
    const result = await fetch(`${gateway.url}/task_result/${task_id}`);
    expect(result.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(result.headers.get('content-disposition')).toMatch(/^attachment; filename="?top-words\.csv"?$/);
    expect(await result.text()).toBe('word,count\nthe,3\nand,1\n');
    const json = (await (await fetch(`${gateway.url}/task_result/${task_id}?format=json`)).json()) as { result: { words: number } };
    expect(json.result.words).toBe(7);

    // The client's file name was sanitised and never used as a path.
    const stored = uploadedFiles();
    expect(stored).toEqual([path.join(task_id, '0-notes.txt')]);
  });

  it('refuses uploads with 507 and Retry-After while the volume is nearly full, and still takes submits without files', async () => {
    const before = uploadedFiles();
    const form = new FormData();
    form.set('processor', 'word-count');
    form.append('file', new Blob(['some words']), 'words.txt');
    const refused = await fetch(`${fullGateway.url}/uploader`, { method: 'POST', body: form, headers: { accept: 'application/json' } });
    expect(refused.status).toBe(507);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(await refused.json()).toMatchObject({ error: { code: 'insufficient_storage' } });
    expect(uploadedFiles()).toEqual(before);
    const plain = await fetch(`${fullGateway.url}/uploader`, {
      method: 'POST',
      body: new URLSearchParams({ processor: 'echo', item_a: 'no files' }),
      headers: { accept: 'application/json' },
    });
    expect(plain.status).toBe(202);
  });

  it('refuses a file larger than MAX_UPLOAD_BYTES with 413 and leaves no file behind', async () => {
    const before = uploadedFiles();
    const response = await upload({ processor: 'word-count' }, [{ name: 'big.txt', data: new Blob([Buffer.alloc(20 * 1024 * 1024, 'a')]) }]);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: 'file_too_large' } });
    expect(uploadedFiles()).toEqual(before);
  });

  it('refuses a file whose bytes are not a type the processor takes with 415 naming the accepted types, whatever its name says', async () => {
    const before = uploadedFiles();
    const response = await upload({ processor: 'word-count' }, [
      { name: 'notes.txt', data: new Blob([PNG_SIGNATURE, Buffer.alloc(64)], { type: 'text/plain' }) },
    ]);
    expect(response.status).toBe(415);
    const body = (await response.json()) as { error: { code: string; message: string; accepted: string[] } };
    expect(body.error.code).toBe('unsupported_file_type');
    expect(body.error.message).toContain('image/png');
    expect(body.error.accepted).toEqual(['text/plain']);
    expect(uploadedFiles()).toEqual(before);
  });

  it('refuses more files than the processor takes with 400', async () => {
    const response = await upload({ processor: 'word-count' }, [
      { name: 'a.txt', data: new Blob(['a']) },
      { name: 'b.txt', data: new Blob(['b']) },
    ]);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'wrong_file_count' } });
  });

  it('answers task_result/:id/artifacts/:name with 404 for an artifact the task does not have', async () => {
    const response = await upload({ processor: 'word-count', text: 'one two two' }, []);
    const { task_id } = (await response.json()) as Submitted;
    await waitForTerminal(gateway.url, task_id);
    const missing = await fetch(`${gateway.url}/task_result/${task_id}/artifacts/..%2F..%2Fwarren.db`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'artifact_not_found' } });
  });
});

import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import S3rver from '@20minutes/s3rver';

/**
 * A real S3-compatible server (s3rver) on 127.0.0.1 and a free port, storing in a temporary
 * directory. It is served from our own http.Server so a test can see which requests arrived
 * (e.g. the UploadPart calls of a multipart upload). Its credentials are s3rver's fixed pair.
 */
export interface TestS3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** "METHOD /path?query" of every request so far. */
  requests: string[];
  /** Called as each request arrives, before s3rver handles it. */
  onRequest: ((line: string) => void) | undefined;
  close(): Promise<void>;
}

export async function startS3Server(buckets: string[]): Promise<TestS3Server> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'warren-s3-'));
  const app = new S3rver({ directory, silent: true, configureBuckets: buckets.map((name) => ({ name })) });
  await app.configureBuckets();
  const handle = app.callback();
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    const line = `${request.method ?? ''} ${request.url ?? ''}`;
    requests.push(line);
    state.onRequest?.(line);
    handle(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const state: TestS3Server = {
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    requests,
    onRequest: undefined,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      // s3rver's logger stays open: an aborted upload's part may still log after close, and it holds no handle.
      app.logger.exceptions.unhandle();
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
  return state;
}

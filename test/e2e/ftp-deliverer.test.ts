import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client, type FileInfo } from 'basic-ftp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseFtpDestinations } from '../../shared/index.js';
import { DeliveryError } from '../../worker/deliverers/errors.js';
import { createFtpDeliverer } from '../../worker/deliverers/ftp.js';
import type { FileDeliverer } from '../../worker/deliverers/types.js';
import { deliveryFixtures, directoryDigests, sha256, testDelivery, type TestDelivery } from '../support/delivery-package.js';
import { startFtpServer, type TestFtpServer } from '../support/ftp-server.js';

const MiB = 1024 * 1024;
const PART = /^\..+\.[0-9a-f]{12}\.part$/;

describe('FTP deliverer (against ftp-srv)', () => {
  let server: TestFtpServer;
  const fixtures = deliveryFixtures();

  beforeAll(async () => {
    server = await startFtpServer();
  });

  afterEach(() => {
    server.onFirstChunk = undefined;
    fixtures.cleanup();
  });

  afterAll(async () => {
    await server.close();
  });

  function deliverer(overrides: Record<string, unknown> = {}): FileDeliverer {
    const destination = {
      host: '127.0.0.1',
      port: server.port,
      user: server.user,
      password: server.password,
      root: `/incoming-${randomUUID()}`,
      timeoutMs: 5000,
    };
    return createFtpDeliverer(parseFtpDestinations(JSON.stringify({ drop: { ...destination, ...overrides } })));
  }

  it('lands every file byte for byte under root/path/<task_id>/, renamed from a temporary name, status.json last', async () => {
    const ftp = deliverer({ root: '/incoming' });
    const made = await fixtures.make([
      { name: 'big.bin', size: 6 * MiB },
      { name: 'notes.txt', size: 3000 },
    ]);
    const stored = server.stored.length;
    const renamed = server.renamed.length;
    const { location } = await ftp.deliver(made.delivery, { destination: 'drop', path: 'client/b' }, made.ctx);

    expect(location).toBe(`ftp://127.0.0.1:${server.port}/incoming/client/b/${made.delivery.taskId}/`);
    expect(location).not.toContain(server.password);
    const files = directoryDigests(path.join(server.root, 'incoming', 'client', 'b', made.delivery.taskId));
    expect(files).toEqual(
      new Map([
        ['big.bin', made.digests.get('big.bin')],
        ['notes.txt', made.digests.get('notes.txt')],
        ['result.json', sha256(made.resultJson)],
        ['status.json', sha256(made.statusJson)],
      ]),
    );
    // Every byte went to a temporary name; the final names only ever came from a rename.
    expect(
      server.stored
        .slice(stored)
        .map((file) => path.basename(file))
        .every((name) => PART.test(name)),
    ).toBe(true);
    expect(server.renamed.slice(renamed).map((file) => path.basename(file))).toEqual(['big.bin', 'notes.txt', 'result.json', 'status.json']);
  });

  it('never shows a reader a final name with partial content while uploading', async () => {
    const ftp = deliverer();
    const made = await fixtures.make([
      { name: 'small.txt', size: 100 },
      { name: 'big.bin', size: 6 * MiB },
    ]);
    const expected = new Map([...made.digests, ['result.json', sha256(made.resultJson)], ['status.json', sha256(made.statusJson)]]);

    // A second FTP client lists the directory while big.bin's bytes are arriving; the server's
    // disk is also read at that instant (synchronously: the server cannot move meanwhile).
    const reader = new Client(5000);
    await reader.access({ host: '127.0.0.1', port: server.port, user: server.user, password: server.password });
    const snapshots: Map<string, string>[] = [];
    let listing: Promise<FileInfo[]> | undefined;
    let directory = '';
    server.onFirstChunk = (diskPath) => {
      directory = path.dirname(diskPath);
      snapshots.push(directoryDigests(directory));
      if (path.basename(diskPath).startsWith('.big.bin.')) listing ??= reader.list(`/${path.relative(server.root, directory)}`);
    };
    try {
      await ftp.deliver(made.delivery, { destination: 'drop' }, made.ctx);
      const listed = (await listing) ?? [];
      expect(listed.length).toBeGreaterThan(0);
      for (const file of listed.filter((entry) => !PART.test(entry.name))) expect(file.size).toBe(fs.statSync(path.join(directory, file.name)).size);
    } finally {
      reader.close();
    }

    expect(snapshots).toHaveLength(4);
    const duringBig = snapshots[1]!;
    expect([...duringBig.keys()].some((name) => name.startsWith('.big.bin.'))).toBe(true);
    expect(duringBig.has('big.bin')).toBe(false);
    for (const snapshot of snapshots) {
      for (const [name, digest] of snapshot) if (!PART.test(name)) expect(digest).toBe(expected.get(name));
      expect(snapshot.has('status.json')).toBe(false);
    }
  });

  it('leaves no .part file, and a redelivery replaces the files in place', async () => {
    const ftp = deliverer({ root: '/redo' });
    const made = await fixtures.make([{ name: 'a.bin', size: 5000 }]);
    await ftp.deliver(made.delivery, { destination: 'drop' }, made.ctx);
    made.delivery.status = { ...(made.delivery.status as object), redelivered: true };
    await ftp.deliver(made.delivery, { destination: 'drop' }, made.ctx);

    const files = directoryDigests(path.join(server.root, 'redo', made.delivery.taskId));
    expect([...files.keys()].sort()).toEqual(['a.bin', 'result.json', 'status.json']);
    expect(files.get('status.json')).toBe(sha256(JSON.stringify(made.delivery.status)));
  });

  it('refuses an unknown destination permanently', async () => {
    const made = await fixtures.make();
    await expect(deliverer().deliver(made.delivery, { destination: 'nowhere' }, made.ctx)).rejects.toMatchObject({
      code: 'unknown_destination',
      permanent: true,
    });
  });

  it('fails a wrong password as a transient access error that does not contain the password', async () => {
    const password = `wrong-${randomUUID()}`;
    const made = await fixtures.make();
    const failure = (await deliverer({ password })
      .deliver(made.delivery, { destination: 'drop' }, made.ctx)
      .catch((error: unknown) => error)) as DeliveryError;
    expect(failure).toBeInstanceOf(DeliveryError);
    expect(failure).toMatchObject({ code: 'access_denied', permanent: false });
    expect(failure.message).toMatch(/credentials/);
    expect(failure.message).not.toContain(password);
  });

  it('fails a server that is not there as transient', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const made = await fixtures.make();
    await expect(deliverer({ port: closedPort }).deliver(made.delivery, { destination: 'drop' }, made.ctx)).rejects.toMatchObject({
      code: 'destination_unavailable',
      permanent: false,
    });
  });

  it('stops mid-upload when the delivery is aborted, before writing status.json', async () => {
    const controller = new AbortController();
    const made = await fixtures.make([{ name: 'big.bin', size: 6 * MiB }], { signal: controller.signal });
    server.onFirstChunk = () => controller.abort(new Error('shutdown'));
    await expect(deliverer({ root: '/aborted' }).deliver(made.delivery, { destination: 'drop' }, made.ctx)).rejects.toMatchObject({
      code: 'aborted',
      permanent: false,
    });
    const directory = path.join(server.root, 'aborted', made.delivery.taskId);
    expect(fs.readdirSync(directory).filter((name) => !PART.test(name))).toEqual([]);
  });
});

describe('FTP deliverer over explicit FTPS (against ftp-srv with a self-signed certificate)', () => {
  let server: TestFtpServer;
  let made: TestDelivery;

  beforeAll(async () => {
    server = await startFtpServer({ tls: true });
    made = await testDelivery([{ name: 'secret-report.pdf', size: 40_000, contentType: 'application/pdf' }]);
  });

  afterAll(async () => {
    made.cleanup();
    await server.close();
  });

  function deliverer(overrides: Record<string, unknown>): FileDeliverer {
    const destination = { host: '127.0.0.1', port: server.port, user: server.user, password: server.password, secure: true, root: '/tls', timeoutMs: 5000 };
    return createFtpDeliverer(parseFtpDestinations(JSON.stringify({ drop: { ...destination, ...overrides } })));
  }

  it('delivers over AUTH TLS when the destination is secure', async () => {
    await deliverer({ rejectUnauthorized: false }).deliver(made.delivery, { destination: 'drop' }, made.ctx);
    const files = fs.readdirSync(path.join(server.root, 'tls', made.delivery.taskId)).sort();
    expect(files).toEqual(['result.json', 'secret-report.pdf', 'status.json']);
    expect(sha256(fs.readFileSync(path.join(server.root, 'tls', made.delivery.taskId, 'secret-report.pdf')))).toBe(made.digests.get('secret-report.pdf'));
  });

  it('refuses a certificate that does not verify unless told otherwise, as a transient failure', async () => {
    const failure = (await deliverer({})
      .deliver(made.delivery, { destination: 'drop', path: 'strict' }, made.ctx)
      .catch((error: unknown) => error)) as DeliveryError;
    expect(failure).toMatchObject({ code: 'destination_unavailable', permanent: false });
    expect(failure.message).toMatch(/certificate/i);
    expect(failure.message).not.toContain(server.password);
  });
});

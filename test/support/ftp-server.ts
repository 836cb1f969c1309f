import fs from 'node:fs/promises';
import type { AddressInfo, Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSystem, FtpSrv, type FtpConnection } from 'ftp-srv';

/**
 * A real FTP server (ftp-srv) on 127.0.0.1 and a free port, serving a temporary directory to
 * one user. It records what clients stored and renamed, and lets a test look at the directory at
 * the moment a file's first bytes arrive, to check what a reader could see mid-upload.
 */
export interface TestFtpServer {
  port: number;
  user: string;
  password: string;
  /** The served directory on disk. */
  root: string;
  /** Server paths of completed STORs and of rename targets, in order. */
  stored: string[];
  renamed: string[];
  /** Called synchronously when the first chunk of an upload is written (the server does nothing else meanwhile). */
  onFirstChunk: ((diskPath: string) => void) | undefined;
  close(): Promise<void>;
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;

/** `tls: true` offers explicit FTPS (AUTH TLS) with the self-signed test certificate for 127.0.0.1. */
export async function startFtpServer(options: { tls?: boolean } = {}): Promise<TestFtpServer> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'warren-ftp-'));
  const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
  const tls = options.tls
    ? { key: await fs.readFile(path.join(fixtures, 'ftps-key.pem')), cert: await fs.readFile(path.join(fixtures, 'ftps-cert.pem')) }
    : false;
  // ftp-srv installs exit-on-signal handlers per server; remember which are ours to remove.
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const server = new FtpSrv({ url: 'ftp://127.0.0.1:0', pasv_url: '127.0.0.1', pasv_min: 20000, anonymous: false, tls, log: silentLog() });
  const state: TestFtpServer = {
    port: 0,
    user: 'warren',
    password: `pw-${Math.random().toString(36).slice(2)}`,
    root,
    stored: [],
    renamed: [],
    onFirstChunk: undefined,
    async close() {
      await server.close();
      for (const signal of SIGNALS) {
        for (const listener of process.listeners(signal)) if (!before.get(signal)?.has(listener)) process.off(signal, listener);
      }
      await fs.rm(root, { recursive: true, force: true });
    },
  };

  class ObservedFileSystem extends FileSystem {
    override write(fileName: string, options?: { append?: boolean; start?: unknown }): { stream: NodeJS.WritableStream & { path: string } } {
      const opened = super.write(fileName, options ?? {}) as { stream: NodeJS.WritableStream & { path: string } };
      const stream = opened.stream;
      const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
      let first = true;
      stream.write = ((...args: unknown[]) => {
        if (first) {
          first = false;
          state.onFirstChunk?.(stream.path);
        }
        return write(...args);
      }) as typeof stream.write;
      return opened;
    }

    // Recorded here, before the server answers 250: its RNTO event fires only after the reply.
    override rename(from: string, to: string): Promise<unknown> {
      state.renamed.push(to);
      return super.rename(from, to) as Promise<unknown>;
    }
  }

  server.on('login', ({ connection, username, password }, resolve, reject) => {
    if (username !== state.user || password !== state.password) return reject(new Error('Login incorrect'));
    observe(connection, state);
    resolve({ fs: new ObservedFileSystem(connection, { root, cwd: '/' }) });
  });
  await server.listen();
  state.port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
  return state;
}

function observe(connection: FtpConnection, state: TestFtpServer): void {
  connection.on('STOR', (error: unknown, serverPath: string) => {
    if (!error) state.stored.push(serverPath);
  });
}

function silentLog(): unknown {
  const log: Record<string, unknown> = {};
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) log[level] = () => undefined;
  log.child = () => log;
  return log;
}

import net from 'node:net';

/**
 * A TCP proxy a fault test puts between warren and a service it must not touch (the machine's
 * PostgreSQL or RabbitMQ), to break the path the way networks break:
 * - cut(): every open connection is reset and new ones are refused, until restore();
 * - freeze(): nothing passes either way on any connection, old or new, and nobody is told
 *   (a partition: bytes wait as TCP would retransmit them), until thaw() delivers what waited;
 * - abandon(): the connections open now never carry another byte and are never closed (a peer
 *   that vanished without a FIN or RST); new connections work.
 * Only 127.0.0.1; close() ends everything it holds.
 */
export interface TcpProxy {
  port: number;
  /** Connections accepted so far (a fault test checks the system reconnected through it). */
  readonly accepted: number;
  cut(): void;
  restore(): void;
  freeze(): void;
  thaw(): void;
  abandon(): void;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** Bytes held while frozen, per direction, delivered on thaw. */
  held: { toUpstream: Buffer[]; toClient: Buffer[] };
  abandoned: boolean;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  /** Client sockets of abandoned connections: silent, never closed until the proxy closes. */
  const silent = new Set<net.Socket>();
  let mode: 'open' | 'cut' | 'frozen' = 'open';
  let accepted = 0;

  const forward = (pair: Pair, chunk: Buffer, direction: 'toUpstream' | 'toClient'): void => {
    if (pair.abandoned) return;
    if (mode === 'frozen') {
      pair.held[direction].push(chunk);
      return;
    }
    (direction === 'toUpstream' ? pair.upstream : pair.client).write(chunk);
  };

  const server = net.createServer((client) => {
    if (mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    accepted += 1;
    const upstream = net.connect(target.port, target.host);
    const pair: Pair = { client, upstream, held: { toUpstream: [], toClient: [] }, abandoned: false };
    pairs.add(pair);
    client.on('data', (chunk: Buffer) => forward(pair, chunk, 'toUpstream'));
    upstream.on('data', (chunk: Buffer) => forward(pair, chunk, 'toClient'));
    const end = (): void => {
      pairs.delete(pair);
      // An abandoned connection is never closed towards the client: it just stops answering.
      if (!pair.abandoned) client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return accepted;
    },
    cut() {
      mode = 'cut';
      for (const pair of pairs) {
        pair.client.resetAndDestroy();
        pair.upstream.destroy();
      }
      pairs.clear();
    },
    restore() {
      mode = 'open';
    },
    freeze() {
      mode = 'frozen';
    },
    thaw() {
      mode = 'open';
      for (const pair of pairs) {
        if (pair.abandoned) continue;
        for (const chunk of pair.held.toUpstream.splice(0)) pair.upstream.write(chunk);
        for (const chunk of pair.held.toClient.splice(0)) pair.client.write(chunk);
      }
    },
    abandon() {
      for (const pair of pairs) {
        pair.abandoned = true;
        silent.add(pair.client);
        // The service side goes (it would time the session out itself); the client keeps a silent socket.
        pair.upstream.destroy();
      }
      mode = 'open';
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      for (const socket of silent) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

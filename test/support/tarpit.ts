import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A webhook endpoint that accepts the TCP connection and then never answers — the way a hung
 * receiver, or one behind a proxy that lost its upstream, looks from the sender. What senders
 * write is kept, so once `wakeUp` points the tarpit at a real receiver, the connections it held
 * (and every later one) are relayed there with the requests already sent, and answered as if the
 * receiver had just woken up.
 *
 * `open` counts the connections held right now, across every tarpit that shares the same
 * `gauge`; `peak` is the most there ever were at once: what the sender spent on this endpoint.
 * A sender that gives up closes its end, and the connection no longer counts.
 */
export interface ConnectionGauge {
  open: number;
  peak: number;
}

export interface Tarpit {
  url(path: string): string;
  /** This tarpit's own connections: open now, and at most at once. */
  own: ConnectionGauge;
  /** From now on relay every connection to `port` on 127.0.0.1, the held ones first. */
  wakeUp(port: number): void;
  close(): Promise<void>;
}

export function connectionGauge(): ConnectionGauge {
  return { open: 0, peak: 0 };
}

export async function startTarpit(shared: ConnectionGauge = connectionGauge()): Promise<Tarpit> {
  const own = connectionGauge();
  /** Held connections, with what their senders wrote so far. */
  const held = new Map<net.Socket, Buffer[]>();
  const sockets = new Set<net.Socket>();
  let relayTo: number | undefined;

  const release = (socket: net.Socket): boolean => {
    if (!held.delete(socket)) return false;
    own.open -= 1;
    shared.open -= 1;
    return true;
  };
  const relay = (socket: net.Socket, written: Buffer[], port: number): void => {
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('error', () => socket.destroy());
    upstream.on('close', () => sockets.delete(upstream));
    for (const chunk of written) upstream.write(chunk);
    socket.pipe(upstream).pipe(socket);
  };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (relayTo !== undefined) {
      relay(socket, [], relayTo);
      return;
    }
    const written: Buffer[] = [];
    held.set(socket, written);
    socket.on('data', (chunk: Buffer) => written.push(chunk));
    socket.on('end', () => {
      if (release(socket)) socket.destroy();
    });
    for (const gauge of [own, shared]) {
      gauge.open += 1;
      gauge.peak = Math.max(gauge.peak, gauge.open);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    own,
    wakeUp(to) {
      relayTo = to;
      for (const [socket, written] of [...held]) {
        release(socket);
        relay(socket, written, to);
      }
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

import type { Writable } from 'node:stream';

/**
 * amqplib hands each frame to the socket on its own (its Mux writes every channel's buffered
 * chunks in one setImmediate turn, one `socket.write` each), and on loopback each write is a
 * syscall and a TCP segment the broker reads separately: publish + ack + confirm traffic of one
 * task becomes several of each. Corking the socket around that turn sends what it wrote as one
 * writev. Same bytes, same order, same turn: nothing is delayed.
 *
 * This reaches into amqplib's internals (`connection.muxer._readIncoming`, `connection.stream`,
 * stable since 0.5); if their shape ever changes, it leaves the connection as it is.
 * Returns whether the connection was changed.
 */
export function coalesceFrameWrites(model: unknown): boolean {
  const connection = (model as { connection?: { stream?: unknown; muxer?: unknown } } | undefined)?.connection;
  const socket = connection?.stream as Writable | undefined;
  const muxer = connection?.muxer as { _readIncoming?: () => void; coalesced?: boolean } | undefined;
  if (!muxer || muxer.coalesced || typeof muxer._readIncoming !== 'function' || typeof socket?.cork !== 'function') return false;
  const writeEverythingReady = muxer._readIncoming.bind(muxer);
  muxer._readIncoming = () => {
    socket.cork();
    try {
      writeEverythingReady();
    } finally {
      socket.uncork();
    }
  };
  muxer.coalesced = true;
  return true;
}

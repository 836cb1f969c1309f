import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';

/**
 * HTTP(S) agents whose connections must be up within a deadline of their own. A request's
 * timeout counts from the start and covers the receiver's work too (WEBHOOK_TIMEOUT_MS, 15 s); an
 * address that never accepts — a black hole, a hung server with a full accept queue — would hold a
 * delivery slot for all of it while SYNs go unanswered. The connect deadline (name lookup, TCP and,
 * for https, the TLS handshake) gives up on those after a few seconds instead.
 */
export class ConnectTimeout extends Error {
  readonly code = 'ECONNECT_TIMEOUT';

  constructor(readonly timeoutMs: number) {
    super(`no connection within ${timeoutMs} ms`);
  }
}

/** Destroys `socket` with a ConnectTimeout unless `connected` fires first. */
function connectWithin<T extends Duplex>(socket: T, timeoutMs: number, connected: 'connect' | 'secureConnect'): T {
  const timer = setTimeout(() => socket.destroy(new ConnectTimeout(timeoutMs)), timeoutMs);
  const settle = (): void => clearTimeout(timer);
  socket.once(connected, settle);
  socket.once('close', settle);
  return socket;
}

export function connectLimitedAgents(options: http.AgentOptions, connectTimeoutMs: number): { http: http.Agent; https: https.Agent } {
  class HttpAgent extends http.Agent {
    override createConnection(...args: Parameters<http.Agent['createConnection']>): ReturnType<http.Agent['createConnection']> {
      const socket = super.createConnection(...args);
      return socket ? connectWithin(socket, connectTimeoutMs, 'connect') : socket;
    }
  }
  class HttpsAgent extends https.Agent {
    override createConnection(...args: Parameters<https.Agent['createConnection']>): ReturnType<https.Agent['createConnection']> {
      const socket = super.createConnection(...args);
      return socket ? connectWithin(socket, connectTimeoutMs, 'secureConnect') : socket;
    }
  }
  return { http: new HttpAgent(options), https: new HttpsAgent(options) };
}

/** Whether `error` (as axios or Node hands it over, possibly wrapped) is a ConnectTimeout. */
export function isConnectTimeout(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth += 1) {
    if (current instanceof ConnectTimeout) return true;
  }
  return false;
}

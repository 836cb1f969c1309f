import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from './error-codes.js';
import { errorBody } from './http-errors.js';

/**
 * Requests Node's HTTP parser refuses before Express sees them (headers over the 16 KiB limit, a
 * broken request line, a header timeout). Left to Node, they get a bare status line with no body;
 * answered here, they get the same error envelope as every other refusal.
 */
const ANSWERS: Record<string, [number, ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'request headers are larger than the limit'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'the request did not arrive in time'],
};
const MALFORMED: [number, ErrorCode, string] = [400, 'bad_request', 'malformed HTTP request'];

export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A response already under way on this connection cannot be followed by another one.
  const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (err.code === 'ECONNRESET' || !socket.writable || inProgress) {
    socket.destroy();
    return;
  }
  const [status, code, message] = ANSWERS[err.code ?? ''] ?? MALFORMED;
  const body = JSON.stringify(errorBody(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  // The client may still be writing the rest of an oversized request: read and drop it, or its
  // write stalls on a full window and it never gets to read our answer. Then let go for good.
  socket.resume();
  setTimeout(() => socket.destroy(), 5000).unref();
}

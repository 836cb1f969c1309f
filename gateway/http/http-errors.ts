import type { ErrorRequestHandler, RequestHandler } from 'express';
import { coerceError, PublishError, WarrenError, type Logger } from '../../shared/index.js';
import type { ErrorCode } from './error-codes.js';
import { storeFaultOf } from '../store/index.js';
import { prefersHtml } from './negotiation.js';

/** A page for a browser that navigated to an error (gateway/pages/error-page.ts); the envelope's code and message. */
export type ErrorPageRenderer = (error: { status: number; code: string; message: string }) => string;

/**
 * One error envelope for every failure: `{ "error": { "code", "message", ... } }`. Anything that is
 * not an HttpError is logged with its stack and answered as a generic 500; internals never reach
 * the client. Codes come from one registry (error-codes.ts), which the OpenAPI document reads too.
 */
export class HttpError extends WarrenError {
  declare readonly code: ErrorCode;

  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message);
  }
}

export function errorBody(code: ErrorCode, message: string, details: Record<string, unknown> = {}): { error: Record<string, unknown> } {
  return { error: { code, message, ...details } };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};

/** body-parser and multer report bad input with their own shapes; translate them once here. */
function fromParserError(err: unknown): HttpError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { type?: string; status?: number; code?: string; name?: string; message?: string; field?: string };
  switch (e.type) {
    case 'entity.parse.failed':
      return new HttpError(400, 'invalid_body', 'request body is not valid JSON');
    case 'entity.too.large':
      return new HttpError(413, 'body_too_large', 'request body is larger than the limit');
    case 'parameters.too.many':
      return new HttpError(413, 'too_many_fields', 'request has more fields than the limit');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new HttpError(415, 'unsupported_encoding', e.message ?? 'unsupported body encoding');
    case 'request.aborted':
      return new HttpError(400, 'request_aborted', 'the client aborted the request');
  }
  if (e.name === 'MulterError') {
    if (e.code === 'LIMIT_FILE_SIZE')
      return new HttpError(413, 'file_too_large', `file${e.field ? ` in field "${e.field}"` : ''} is larger than the upload limit (MAX_UPLOAD_BYTES)`);
    if (e.code === 'LIMIT_FILE_COUNT') return new HttpError(413, 'too_many_files', 'request has more files than the limit (MAX_FILES)');
    const tooLarge = new Set(['LIMIT_FIELD_VALUE', 'LIMIT_FIELD_KEY', 'LIMIT_FIELD_COUNT', 'LIMIT_PART_COUNT']);
    if (tooLarge.has(e.code ?? '')) return new HttpError(413, 'too_large', `${e.message ?? 'limit exceeded'}${e.field ? ` (${e.field})` : ''}`);
    if (e.code === 'LIMIT_UNEXPECTED_FILE')
      return new HttpError(400, 'unexpected_file', `this request does not take files${e.field ? ` (field "${e.field}")` : ''}`);
    return new HttpError(400, 'invalid_multipart', e.message ?? 'malformed multipart body');
  }
  // multer's words for a client that went away mid-upload.
  if (typeof e.message === 'string' && /^Request (aborted|closed)$/.test(e.message))
    return new HttpError(400, 'request_aborted', 'the client aborted the request');
  // busboy (under multer) throws plain Errors for broken multipart bodies.
  if (typeof e.message === 'string' && /multipart|boundary|unexpected end of form|malformed part header/i.test(e.message)) {
    return new HttpError(400, 'invalid_multipart', 'malformed multipart body');
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new HttpError(e.status, 'bad_request', e.message ?? 'bad request');
  }
  return undefined;
}

/**
 * Temporary conditions of ours, not bugs: a broker that did not take a message, a task store out of
 * reach (503), a full disk — the store's, or the volume an upload was being written to (507).
 * Each says when to try again. What failed is logged (once per request, without a stack), never
 * sent: a driver's message may name hosts.
 */
function fromOutage(err: unknown, logger: Logger, path: string): HttpError | undefined {
  if (err instanceof PublishError)
    return new HttpError(503, 'broker_unavailable', 'the broker did not take the message; try again shortly', {}, { 'Retry-After': '2' });
  const fault = storeFaultOf(err);
  if (fault === undefined) return undefined;
  logger.warn({ err: coerceError(err).message, path }, fault === 'full' ? 'request refused: disk full' : 'request refused: task store unavailable');
  if (fault === 'full') return new HttpError(507, 'insufficient_storage', 'the server is out of disk space; try again later', {}, { 'Retry-After': '60' });
  return new HttpError(503, 'store_unavailable', 'the task store is unavailable; try again shortly', {}, { 'Retry-After': '2' });
}

/** With `renderPage`, browsers (Accept: text/html before JSON) get a page; everyone else the JSON envelope. */
export function errorHandler(logger: Logger, renderPage?: ErrorPageRenderer): ErrorRequestHandler {
  const send = (
    req: Parameters<ErrorRequestHandler>[1],
    res: Parameters<ErrorRequestHandler>[2],
    status: number,
    code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
  ): void => {
    res.status(status);
    if (renderPage && prefersHtml(req)) res.type('html').send(renderPage({ status, code, message }));
    else res.json(errorBody(code, message, details));
  };
  return (err, req, res, _next) => {
    // A client that hung up mid-request is nobody to answer, and no failure of ours.
    if (req.socket?.destroyed !== false && !(err instanceof HttpError)) {
      logger.debug({ err: coerceError(err).message, method: req.method, path: req.path }, 'request abandoned by the client');
      if (!res.headersSent) res.destroy();
      return;
    }
    const known = err instanceof HttpError ? err : (fromOutage(err, logger, req.path) ?? fromParserError(err));
    if (known && res.headersSent) {
      // A stream already under way (SSE, a file) cannot change its status: end it.
      res.destroy();
      return;
    }
    if (known) {
      for (const [name, value] of Object.entries(known.headers)) res.setHeader(name, value);
      send(req, res, known.status, known.code, known.message, known.details);
      return;
    }
    const wrapped = coerceError(err);
    // The path only: a query string may carry something secret.
    logger.error({ err: wrapped, cause: wrapped.cause, method: req.method, path: req.path }, 'unhandled error');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    send(req, res, 500, 'internal_error', 'something went wrong on our side; it has been logged');
  };
}

import type { Request, RequestHandler, Response } from 'express';
import { pinoHttp } from 'pino-http';
import { isTaskId, type Logger } from '../shared/index.js';

/**
 * One access-log line per request: method, path, route, status, time taken, the task id when the
 * request concerns one, and the API key's name (never its secret) when one was sent. The path is
 * logged without its query string (which may carry tokens), and no headers are logged
 * (Authorization, cookies). Scrapes, health probes and static files
 * are logged at debug level, so they do not drown the lines that matter.
 */
export function accessLog(logger: Logger, basePath: string): RequestHandler {
  const quiet = (path: string): boolean => path === '/metrics' || path.startsWith(`${basePath}/health/`) || path.startsWith(`${basePath}/static/`);
  const summary = (req: Request, res: Response, ms: number): Record<string, unknown> => ({
    method: req.method,
    path: pathOf(req),
    status: res.writableFinished ? res.statusCode : null,
    ms,
  });

  const middleware = pinoHttp<Request, Response>({
    logger,
    // No `req`/`res` objects on the line (they would carry headers and the full URL).
    quietReqLogger: true,
    quietResLogger: true,
    customProps: (_req, res) => ({
      ...(typeof res.locals.taskId === 'string' ? { taskId: res.locals.taskId } : {}),
      ...(typeof res.locals.apiKey === 'string' ? { apiKey: res.locals.apiKey } : {}),
    }),
    customLogLevel: (req, res, err) => {
      if (quiet(pathOf(req))) return 'debug';
      return err || res.statusCode >= 500 ? 'warn' : 'info';
    },
    customSuccessObject: (req, res, val: { responseTime: number }) => summary(req, res, val.responseTime),
    customSuccessMessage: (_req, res) => (res.writableFinished ? 'request completed' : 'request aborted by the client'),
    // The error handler has already logged the cause with its stack; this line is the access record.
    customErrorObject: (req, res, err, val: { responseTime: number }) => ({ ...summary(req, res, val.responseTime), err: err.message }),
    customErrorMessage: () => 'request failed',
  });

  return (req, res, next) => {
    rememberTaskId(req, res);
    middleware(req, res, next);
  };
}

/** The path as the client sent it (with BASE_PATH), never the query string. */
function pathOf(req: Request): string {
  const url = req.originalUrl || req.url;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Sets `res.locals.taskId` from the first `:id` route parameter that is a task id. Express
 * restores `req.params` when an error leaves a router, so by the time a 404 or 409 is answered the
 * id is gone; watching the assignments catches it for every route with an `:id`, present or future.
 */
export function rememberTaskId(req: Request, res: Response): void {
  let params: unknown = req.params;
  Object.defineProperty(req, 'params', {
    configurable: true,
    enumerable: true,
    get: () => params,
    set: (value: unknown) => {
      params = value;
      const id = (value as { id?: unknown } | undefined)?.id;
      if (res.locals.taskId === undefined && typeof id === 'string' && isTaskId(id)) res.locals.taskId = id.toLowerCase();
    },
  });
}

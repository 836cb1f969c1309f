import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The gateway's policy. No upgrade-insecure-requests: warren is often served over plain HTTP on a
 * private network, and upgrading the form's POST to https would break it there. blob: images: the
 * form previews the image being uploaded (with OCR word boxes over it). Referrer-Policy
 * same-origin, not helmet's no-referrer: under no-referrer a browser sends `Origin: null` with the
 * pages' own plain form posts, and the cross-site check must refuse that. Other sites still learn
 * nothing (no Referer leaves the origin).
 */
export const GATEWAY_HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { directives: { 'script-src': ["'self'"], 'img-src': ["'self'", 'data:', 'blob:'], 'upgrade-insecure-requests': null } },
  hsts: false,
  referrerPolicy: { policy: 'same-origin' },
};

/**
 * helmet's headers, worked out once: with static options (no nonces, nothing read from the request)
 * helmet sets the same headers on every answer, through a dozen middleware calls per request.
 * Here it runs once against a recorder at start-up and each request gets the recorded headers.
 */
export function securityHeaders(options: HelmetOptions = GATEWAY_HELMET_OPTIONS): RequestHandler {
  const headers = new Map<string, string | number | readonly string[]>();
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => headers.set(name, value),
    removeHeader: (name: string) => headers.delete(name),
  };
  let called = false;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => (called = true));
  if (!called) throw new Error('helmet did not finish synchronously; its headers cannot be worked out once');
  const fixed = [...headers];
  return (_req, res, next) => {
    for (const [name, value] of fixed) res.setHeader(name, value);
    next();
  };
}

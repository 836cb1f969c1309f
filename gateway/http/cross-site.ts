import type { Request, RequestHandler } from 'express';
import { HttpError } from './http-errors.js';

/**
 * Cross-site request forgery. A browser attaches what it holds for the gateway to any request,
 * also one another site's page makes it send: cached HTTP Basic credentials (how warren's form
 * signs in), and its place in the network (a gateway on a private network, with API_KEYS unset or
 * ALLOW_ANONYMOUS on, trusts whoever reaches it). A plain form on any site can POST to the
 * gateway without asking anyone, so every change (every method but GET, HEAD and OPTIONS, on every
 * route) must come from the gateway's own origin.
 *
 * Origin (or, when a browser sends none, Referer) is compared with the gateway's own origin, not a
 * CSRF token: warren has no sessions to bind a token to, its form works without JavaScript, and
 * API clients post to the same routes, so a token would need the same "is this a browser?" test
 * anyway. Browsers send Origin on every POST, also over plain HTTP, where they send no
 * Sec-Fetch-Site (that header only reaches HTTPS and localhost; the check before this one relied
 * on it alone). Sec-Fetch-Site stays as a second signal: a browser that says cross-site or
 * same-site is refused whatever Origin says.
 *
 * What passes without a look: requests with none of the three headers (curl, SDKs, other servers:
 * not browsers, and able to reach the route directly anyway), and requests carrying
 * `Authorization: Bearer`, which a browser sends only when a script sets it — and a script on
 * another origin can only do that after a CORS preflight the gateway never approves.
 *
 * `Origin: null` (sandboxed frames, data: URLs, a page whose Referrer-Policy is no-referrer) is
 * refused: it names no origin, so it cannot be the gateway's. Hence the gateway's own pages are
 * served with `Referrer-Policy: same-origin` (gateway/app.ts), or their plain form posts would
 * carry `null` too.
 */

/**
 * The gateway's own origin. With PUBLIC_URL, its origin and nothing else. Without it, the origin
 * the browser addressed: the Host header, the scheme of the connection — or, behind a proxy, the
 * X-Forwarded-Host / X-Forwarded-Proto the proxy set. Trusting those is safe here, although
 * anyone can send them: a browser cannot (neither a form nor a cross-origin script can set them),
 * and only a browser carries credentials or a network position that are not the sender's own.
 * A proxy that rewrites Host without saying so needs PUBLIC_URL.
 */
export function ownOrigin(req: Pick<Request, 'get' | 'secure'>, publicOrigin: string | undefined): string | undefined {
  if (publicOrigin !== undefined) return publicOrigin;
  const host = firstValue(req.get('x-forwarded-host')) ?? req.get('host');
  const forwardedProto = firstValue(req.get('x-forwarded-proto'))?.toLowerCase();
  const scheme = forwardedProto === 'https' || forwardedProto === 'http' ? forwardedProto : req.secure ? 'https' : 'http';
  if (host === undefined || host === '' || /[/?#@\s\\]/.test(host)) return undefined;
  try {
    return new URL(`${scheme}://${host}`).origin;
  } catch {
    return undefined;
  }
}

/** What a request says about where it comes from: header values as received (undefined if absent). */
export interface RequestSource {
  method: string;
  authorization: string | undefined;
  secFetchSite: string | undefined;
  origin: string | undefined;
  referer: string | undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Why a request must be refused as cross-site, or undefined when it may go on. Pure, for tests. */
export function crossSiteProblem(request: RequestSource, own: string | undefined): string | undefined {
  if (SAFE_METHODS.has(request.method.toUpperCase())) return undefined;
  if (/^bearer\s/i.test(request.authorization ?? '')) return undefined;
  const site = request.secFetchSite?.toLowerCase();
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return `the browser says the request comes from another site (Sec-Fetch-Site: ${clip(site)})`;
  }
  if (request.origin !== undefined) {
    return request.origin === own ? undefined : `it comes from ${clip(request.origin)}, not from ${own ?? 'this gateway'}`;
  }
  if (request.referer !== undefined) {
    const from = originOf(request.referer);
    return from !== undefined && from === own
      ? undefined
      : `it comes from a page of ${clip(from ?? 'an unreadable Referer')}, not from ${own ?? 'this gateway'}`;
  }
  return undefined;
}

/** Refuses, with 403 cross_site_request, a change another site's page made a browser send. */
export function refuseCrossSite({ publicUrl }: { publicUrl: string | undefined }): RequestHandler {
  const publicOrigin = publicUrl === undefined ? undefined : new URL(publicUrl).origin;
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const problem = crossSiteProblem(
      {
        method: req.method,
        authorization: req.get('authorization'),
        secFetchSite: req.get('sec-fetch-site'),
        origin: req.get('origin'),
        referer: req.get('referer'),
      },
      ownOrigin(req, publicOrigin),
    );
    if (problem === undefined) return next();
    const hint = publicOrigin === undefined ? ' (behind a reverse proxy that changes the host name, set PUBLIC_URL)' : '';
    throw new HttpError(403, 'cross_site_request', `a browser may send changes only from this gateway’s own pages: ${problem}${hint}`);
  };
}

function originOf(url: string): string | undefined {
  try {
    const { origin } = new URL(url);
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

function firstValue(header: string | undefined): string | undefined {
  const first = header?.split(',')[0]?.trim();
  return first === '' ? undefined : first;
}

/** Header values are the sender's to choose: keep what goes back into the message short. */
function clip(value: string): string {
  return value.length > 100 ? `${value.slice(0, 100)}…` : value;
}

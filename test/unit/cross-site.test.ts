import { describe, expect, it } from 'vitest';
import { crossSiteProblem, ownOrigin, type RequestSource } from '../../gateway/http/cross-site.js';

const OWN = 'http://gateway.test:5000';
const post = (headers: Partial<Omit<RequestSource, 'method'>>, method = 'POST'): RequestSource => ({
  method,
  authorization: undefined,
  secFetchSite: undefined,
  origin: undefined,
  referer: undefined,
  ...headers,
});

describe('the cross-site check', () => {
  it.each([
    ['a request with no Origin, Referer or Sec-Fetch-Site (curl, an SDK)', post({})],
    ['the gateway’s own page (Origin)', post({ origin: OWN })],
    ['the gateway’s own page, no Origin but a Referer', post({ referer: `${OWN}/prediction/upload?processor=echo` })],
    ['a browser saying same-origin, without Origin', post({ secFetchSite: 'same-origin' })],
    ['a browser saying same-origin, with its Origin', post({ secFetchSite: 'same-origin', origin: OWN })],
    ['a request the user started (Sec-Fetch-Site: none)', post({ secFetchSite: 'none' })],
    ['a Bearer key from anywhere: a browser sends one only after a CORS preflight', post({ authorization: 'Bearer abc', origin: 'http://evil.test' })],
    ['a GET from another site (reads change nothing)', post({ origin: 'http://evil.test', secFetchSite: 'cross-site' }, 'GET')],
  ])('lets through %s', (_what, request) => {
    expect(crossSiteProblem(request, OWN)).toBeUndefined();
  });

  it.each([
    ['another site’s Origin', post({ origin: 'http://evil.test' }), /comes from http:\/\/evil\.test, not from http:\/\/gateway\.test:5000/],
    ['another port of the same host', post({ origin: 'http://gateway.test:5001' }), /gateway\.test:5001/],
    ['the same host over another scheme', post({ origin: 'https://gateway.test:5000' }), /https:\/\/gateway\.test:5000/],
    ['Origin: null (a sandboxed frame, a no-referrer page)', post({ origin: 'null' }), /comes from null/],
    ['another site’s Referer when there is no Origin', post({ referer: 'http://evil.test/page' }), /page of http:\/\/evil\.test/],
    ['an unreadable Referer', post({ referer: 'not a url' }), /unreadable Referer/],
    ['Sec-Fetch-Site: cross-site, even with the gateway’s Origin', post({ secFetchSite: 'cross-site', origin: OWN }), /Sec-Fetch-Site: cross-site/],
    ['Sec-Fetch-Site: same-site (a sibling subdomain)', post({ secFetchSite: 'same-site' }), /same-site/],
    ['Basic credentials from another site', post({ authorization: 'Basic eDp5', origin: 'http://evil.test' }), /evil\.test/],
    ['a DELETE from another site', post({ origin: 'http://evil.test' }, 'DELETE'), /evil\.test/],
    ['a PUT from another site', post({ origin: 'http://evil.test' }, 'put'), /evil\.test/],
  ])('refuses %s', (_what, request, message) => {
    expect(crossSiteProblem(request, OWN)).toMatch(message);
  });

  it('refuses a browser’s change when the gateway cannot tell its own origin (no Host)', () => {
    expect(crossSiteProblem(post({ origin: OWN }), undefined)).toMatch(/not from this gateway/);
    expect(crossSiteProblem(post({}), undefined)).toBeUndefined();
  });

  it('keeps what the sender chose short in its message', () => {
    expect(crossSiteProblem(post({ origin: `http://${'a'.repeat(5000)}.test` }), OWN)!.length).toBeLessThan(300);
  });
});

describe('the gateway’s own origin', () => {
  const request = (headers: Record<string, string>, secure = false) => ({ secure, get: ((name: string) => headers[name.toLowerCase()]) as never });

  it('is PUBLIC_URL’s origin when set, whatever the request says', () => {
    expect(ownOrigin(request({ host: '127.0.0.1:5000', 'x-forwarded-host': 'other.test' }), 'https://ml.example.com')).toBe('https://ml.example.com');
  });

  it('is otherwise the Host the browser addressed, over the connection’s scheme', () => {
    expect(ownOrigin(request({ host: 'Gateway.Test:5000' }), undefined)).toBe('http://gateway.test:5000');
    expect(ownOrigin(request({ host: 'gateway.test:80' }), undefined)).toBe('http://gateway.test');
    expect(ownOrigin(request({ host: 'gateway.test:443' }, true), undefined)).toBe('https://gateway.test');
    expect(ownOrigin(request({ host: '[::1]:5000' }), undefined)).toBe('http://[::1]:5000');
  });

  it('follows what a proxy in front says (X-Forwarded-Proto, X-Forwarded-Host; the first of a list)', () => {
    expect(ownOrigin(request({ host: 'gateway.test', 'x-forwarded-proto': 'https' }), undefined)).toBe('https://gateway.test');
    expect(
      ownOrigin(request({ host: '10.0.0.5:5000', 'x-forwarded-host': 'ml.example.com, proxy.internal', 'x-forwarded-proto': 'https,http' }), undefined),
    ).toBe('https://ml.example.com');
    expect(ownOrigin(request({ host: 'gateway.test', 'x-forwarded-proto': 'gopher' }), undefined)).toBe('http://gateway.test');
  });

  it('is unknown for a missing or malformed Host', () => {
    expect(ownOrigin(request({}), undefined)).toBeUndefined();
    expect(ownOrigin(request({ host: 'evil.test/x@gateway.test' }), undefined)).toBeUndefined();
    expect(ownOrigin(request({ host: 'gateway.test:99999' }), undefined)).toBeUndefined();
  });
});

import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { ConfigError, WarrenError } from './errors.js';

/**
 * The SSRF guard for webhook URLs. A client names a URL; warren's workers will call it from inside
 * the operator's network, so it must not reach loopback, private, link-local (cloud metadata at
 * 169.254.169.254), multicast or otherwise non-public addresses — unless the operator allowlisted
 * them (WEBHOOK_ALLOWLIST: CIDRs and host names). Checked at submit, and again at delivery, where
 * `lookup` also pins the connection to the addresses just checked (DNS may have changed, or be
 * rebinding on purpose).
 */
export class UrlRefused extends WarrenError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

export interface UrlGuard {
  /** Resolves when `url` may be called; throws UrlRefused saying why not. */
  check(url: string): Promise<URL>;
  /** A `lookup` for http(s) agents: resolves, then refuses any address the guard would refuse. */
  lookup(hostname: string, options: LookupOptions, callback: LookupCallback): void;
}

export function createUrlGuard(allowlist: readonly string[], resolve: typeof dns.promises.lookup = dns.promises.lookup): UrlGuard {
  const cidrs: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  const hosts = new Set<string>();
  for (const entry of allowlist) {
    if (entry.includes('/')) {
      try {
        cidrs.push(ipaddr.parseCIDR(entry));
      } catch {
        throw new ConfigError('WEBHOOK_ALLOWLIST', `"${entry}" is not a CIDR`);
      }
    } else if (ipaddr.isValid(entry)) {
      const address = ipaddr.parse(entry);
      cidrs.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    } else {
      hosts.add(entry.toLowerCase().replace(/\.$/, ''));
    }
  }

  const addressAllowed = (text: string): boolean => {
    let address = ipaddr.parse(text);
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) address = (address as ipaddr.IPv6).toIPv4Address();
    if (cidrs.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits))) return true;
    // Only globally routable unicast; everything else (loopback, private, linkLocal, uniqueLocal,
    // carrierGradeNat, multicast, reserved, unspecified, …) stays inside.
    return address.range() === 'unicast';
  };

  const refuseAddress = (host: string, address: string): UrlRefused =>
    new UrlRefused('webhook_url_not_public', `webhook host ${host} resolves to ${address}, which is not a public address (operators may allow it with WEBHOOK_ALLOWLIST)`);

  const hostAllowed = (host: string): boolean => hosts.has(host.toLowerCase().replace(/\.$/, ''));

  return {
    async check(raw) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new UrlRefused('invalid_webhook_url', 'webhook_url is not a URL');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UrlRefused('invalid_webhook_url', 'webhook_url must be http:// or https://');
      if (url.username || url.password) throw new UrlRefused('invalid_webhook_url', 'webhook_url must not carry credentials; the signature proves who calls');
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      if (hostAllowed(host)) return url;
      if (ipaddr.isValid(host)) {
        if (!addressAllowed(host)) throw refuseAddress(host, host);
        return url;
      }
      let addresses: LookupAddress[];
      try {
        addresses = await resolve(host, { all: true });
      } catch {
        throw new UrlRefused('webhook_url_unresolvable', `webhook host ${host} does not resolve`);
      }
      const refused = addresses.find((a) => !addressAllowed(a.address));
      if (refused) throw refuseAddress(host, refused.address);
      return url;
    },

    lookup(hostname, options, callback) {
      resolve(hostname, { ...options, all: true }).then(
        (addresses) => {
          const usable = hostAllowed(hostname) ? addresses : addresses.filter((a) => addressAllowed(a.address));
          if (usable.length === 0 || usable.length < addresses.length) {
            const refused = addresses.find((a) => !addressAllowed(a.address));
            callback(refuseAddress(hostname, refused?.address ?? 'nothing') as NodeJS.ErrnoException, []);
            return;
          }
          if (options.all) callback(null, usable);
          else callback(null, usable[0]!.address, usable[0]!.family);
        },
        (err: NodeJS.ErrnoException) => callback(err, []),
      );
    },
  };
}

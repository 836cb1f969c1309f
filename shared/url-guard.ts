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

  const inAllowlist = (address: ipaddr.IPv4 | ipaddr.IPv6): boolean =>
    cidrs.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits));

  const addressAllowed = (text: string): boolean => {
    const address = ipaddr.parse(text);
    const embedded = address.kind() === 'ipv6' ? embeddedIPv4(address as ipaddr.IPv6) : undefined;
    if (inAllowlist(address) || (embedded !== undefined && inAllowlist(embedded))) return true;
    // Only globally routable unicast; everything else (loopback, private, linkLocal, uniqueLocal,
    // carrierGradeNat, multicast, reserved, unspecified, 6to4, teredo, …) stays inside.
    return (embedded ?? address).range() === 'unicast';
  };

  // The host as the client gave it, never the address it resolved to: that would tell a client
  // what lies inside the operator's network.
  const refuseHost = (host: string): UrlRefused =>
    new UrlRefused('webhook_url_not_public', `webhook host ${host} is not public (operators may allow it with WEBHOOK_ALLOWLIST)`);

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
        if (!addressAllowed(host)) throw refuseHost(host);
        return url;
      }
      let addresses: LookupAddress[];
      try {
        addresses = await resolve(host, { all: true });
      } catch {
        throw new UrlRefused('webhook_url_unresolvable', `webhook host ${host} does not resolve`);
      }
      if (addresses.some((a) => !addressAllowed(a.address))) throw refuseHost(host);
      return url;
    },

    lookup(hostname, options, callback) {
      resolve(hostname, { ...options, all: true }).then(
        (addresses) => {
          const usable = hostAllowed(hostname) ? addresses : addresses.filter((a) => addressAllowed(a.address));
          if (usable.length === 0 || usable.length < addresses.length) {
            callback(refuseHost(hostname) as NodeJS.ErrnoException, []);
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

/** NAT64's well-known prefix (RFC 6052): 64:ff9b::a.b.c.d is a.b.c.d, reached through the translator. */
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');

/**
 * The IPv4 address an IPv6 one stands for, where the IPv4 address is what the packets reach and
 * sits at a known place, so the guard judges (and allowlists) it as that IPv4 address:
 * - IPv4-mapped `::ffff:a.b.c.d`: the socket talks IPv4 to a.b.c.d;
 * - IPv4-compatible `::a.b.c.d` (deprecated, RFC 4291), but not `::` and `::1`;
 * - NAT64 `64:ff9b::a.b.c.d`: public IPv4 hosts resolve to these under DNS64, so refusing the whole
 *   prefix would break webhooks from IPv6-only networks, and 64:ff9b::7f00:1 must count as loopback.
 * Other forms that carry an IPv4 address are refused whole (ipaddr.js does not call them unicast):
 * 6to4 (2002::/16) and Teredo (2001::/32), deprecated tunnels with no webhook receivers behind
 * them; NAT64's local-use 64:ff9b:1::/48 (RFC 8215), whose IPv4 sits where the operator chose;
 * IPv4-translated ::ffff:0:a.b.c.d (RFC 6145). An operator who needs one may allowlist it.
 */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  if (address.isIPv4MappedAddress()) return address.toIPv4Address();
  const [a, b, c, d, e, f, high, low] = address.parts as [number, number, number, number, number, number, number, number];
  const ipv4 = (): ipaddr.IPv4 => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0 && (high !== 0 || low > 1)) return ipv4();
  if (address.match(NAT64_WELL_KNOWN)) return ipv4();
  return undefined;
}

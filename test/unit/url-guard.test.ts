import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors.js';
import { createUrlGuard } from '../../shared/url-guard.js';

/** A resolver that answers from a table, so DNS answers (and changes of them) are ours to choose. */
function resolverOf(table: Record<string, string[]>) {
  return (async (host: string) => {
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  }) as unknown as typeof import('node:dns').promises.lookup;
}

const dns = resolverOf({
  'public.example': ['93.184.215.14'],
  'inside.example': ['10.1.2.3'],
  'mixed.example': ['93.184.215.14', '192.168.1.5'],
  'metadata.example': ['169.254.169.254'],
  'v6.example': ['2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'mapped.example': ['::ffff:127.0.0.1'],
  'compatible.example': ['::127.0.0.2'],
  'nat64-public.example': ['64:ff9b::5db8:d70e'],
  'nat64-inside.example': ['64:ff9b::a01:203'],
  'hooks.internal': ['10.9.9.9'],
});

function lookupOnce(guard: ReturnType<typeof createUrlGuard>, host: string, all = false): Promise<unknown> {
  return new Promise((resolve, reject) => guard.lookup(host, { all }, (err, address) => (err ? reject(err) : resolve(address))));
}

describe('the webhook URL guard', () => {
  const guard = createUrlGuard([], dns);

  it.each([
    'http://public.example/hook',
    'https://93.184.215.14/x',
    'https://v6.example/hook',
    'https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/',
    // NAT64 (64:ff9b::/96) of a public IPv4 host: how IPv4-only hosts look from an IPv6-only network.
    'https://[64:ff9b::93.184.215.14]/',
    'https://nat64-public.example/',
    'https://[::ffff:93.184.215.14]/',
  ])('lets %s through', async (url) => {
    await expect(guard.check(url)).resolves.toBeInstanceOf(URL);
  });

  it.each([
    ['loopback', 'http://127.0.0.1/'],
    ['loopback, anywhere in 127/8', 'http://127.8.9.10/'],
    ['IPv6 loopback', 'http://[::1]/'],
    ['unspecified', 'http://0.0.0.0/'],
    ['private 10/8', 'http://10.0.0.1/'],
    ['private 172.16/12', 'http://172.20.0.1/'],
    ['private 192.168/16', 'http://192.168.0.1/'],
    ['carrier-grade NAT (Alibaba metadata)', 'http://100.100.100.200/'],
    ['link-local (cloud metadata)', 'http://169.254.169.254/latest/meta-data/'],
    ['IPv6 unique local (AWS metadata on IPv6)', 'http://[fd00:ec2::254]/'],
    ['IPv6 link-local', 'http://[fe80::1]/'],
    ['multicast', 'http://224.0.0.1/'],
    ['IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.1]/'],
    ['IPv4-compatible IPv6 loopback (::a.b.c.d)', 'http://[::127.0.0.2]/'],
    ['IPv4-compatible IPv6, hexadecimal', 'http://[::7f00:1]/'],
    ['IPv4-compatible IPv6 private', 'http://[::10.0.0.1]/'],
    ['IPv4-compatible IPv6 metadata', 'http://[::169.254.169.254]/'],
    ['NAT64 of loopback', 'http://[64:ff9b::127.0.0.1]/'],
    ['NAT64 of the metadata address', 'http://[64:ff9b::a9fe:a9fe]/'],
    ['NAT64 local-use prefix (64:ff9b:1::/48), even of a public IPv4', 'http://[64:ff9b:1::5db8:d70e]/'],
    ['6to4 of loopback (2002::/16)', 'http://[2002:7f00:1::1]/'],
    ['6to4, even of a public IPv4', 'http://[2002:5db8:d70e::1]/'],
    ['Teredo (2001::/32)', 'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/'],
    ['IPv4-translated (::ffff:0:a.b.c.d)', 'http://[::ffff:0:7f00:1]/'],
    ['IPv6 documentation range', 'http://[2001:db8::1]/'],
    ['a name resolving to a private address', 'http://inside.example/'],
    ['a name with one private address among public ones', 'http://mixed.example/'],
    ['a name resolving to the metadata address', 'http://metadata.example/'],
    ['a name resolving to an IPv4-mapped loopback', 'http://mapped.example/'],
    ['a name resolving to an IPv4-compatible loopback', 'http://compatible.example/'],
    ['a name resolving to the NAT64 form of a private address', 'http://nat64-inside.example/'],
  ])('refuses %s', async (_what, url) => {
    await expect(guard.check(url)).rejects.toMatchObject({ code: 'webhook_url_not_public' });
  });

  it('names the host it was given, never the internal address the host resolved to', async () => {
    for (const [url, address] of [
      ['http://inside.example/', '10.1.2.3'],
      ['http://mixed.example/', '192.168.1.5'],
      ['http://metadata.example/', '169.254.169.254'],
      ['http://nat64-inside.example/', '10.1.2.3'],
    ] as const) {
      const refusal = (await guard.check(url).catch((err: unknown) => err)) as Error;
      expect(refusal.message).toMatch(/^webhook host [a-z0-9.-]+ is not public/);
      expect(refusal.message).not.toContain(address);
      expect(refusal.message).not.toMatch(/\d+\.\d+\.\d+\.\d+|:[0-9a-f]*:/i);
    }
    const rebound = (await lookupOnce(createUrlGuard([], resolverOf({ 'later.example': ['10.1.2.3'] })), 'later.example').catch(
      (err: unknown) => err,
    )) as Error;
    expect(rebound.message).toBe('webhook host later.example is not public (operators may allow it with WEBHOOK_ALLOWLIST)');
  });

  it.each([
    ['not a URL', 'hook'],
    ['another scheme', 'ftp://public.example/'],
    ['credentials in the URL', 'https://user:secret@public.example/'],
  ])('refuses %s as invalid', async (_what, url) => {
    await expect(guard.check(url)).rejects.toMatchObject({ code: 'invalid_webhook_url' });
  });

  it('refuses a name that does not resolve', async () => {
    await expect(guard.check('https://nowhere.example/')).rejects.toMatchObject({ code: 'webhook_url_unresolvable' });
  });

  it('allows what the operator allowlisted: CIDRs, single addresses and host names', async () => {
    const allowing = createUrlGuard(['127.0.0.0/8', '192.168.1.5', 'hooks.internal'], dns);
    await expect(allowing.check('http://127.0.0.1:8080/')).resolves.toBeInstanceOf(URL);
    await expect(allowing.check('http://mixed.example/')).resolves.toBeInstanceOf(URL);
    await expect(allowing.check('http://hooks.internal/')).resolves.toBeInstanceOf(URL);
    await expect(allowing.check('http://10.0.0.1/')).rejects.toMatchObject({ code: 'webhook_url_not_public' });
  });

  it('applies an IPv4 allowlist entry to the IPv6 forms of the address, and an IPv6 entry as written', async () => {
    const allowing = createUrlGuard(['127.0.0.0/8', '2002::/16'], dns);
    await expect(allowing.check('http://[::ffff:127.0.0.1]/')).resolves.toBeInstanceOf(URL);
    await expect(allowing.check('http://[::127.0.0.2]/')).resolves.toBeInstanceOf(URL);
    await expect(allowing.check('http://[64:ff9b::127.0.0.1]/')).resolves.toBeInstanceOf(URL);
    await expect(allowing.check('http://[2002:7f00:1::1]/')).resolves.toBeInstanceOf(URL);
    await expect(allowing.check('http://[::10.0.0.1]/')).rejects.toMatchObject({ code: 'webhook_url_not_public' });
  });

  it('pins connections: its lookup refuses a name that now resolves inside (DNS rebinding)', async () => {
    let answer = ['93.184.215.14'];
    const rebinding = createUrlGuard([], (async () => answer.map((address) => ({ address, family: 4 }) as LookupAddress)) as never);
    await expect(rebinding.check('http://rebind.example/')).resolves.toBeInstanceOf(URL);
    expect(await lookupOnce(rebinding, 'rebind.example')).toBe('93.184.215.14');
    answer = ['127.0.0.1'];
    await expect(lookupOnce(rebinding, 'rebind.example')).rejects.toMatchObject({ code: 'webhook_url_not_public' });
    await expect(lookupOnce(rebinding, 'rebind.example', true)).rejects.toMatchObject({ code: 'webhook_url_not_public' });
  });

  it('stops the process on a malformed allowlist entry, naming the variable', () => {
    expect(() => createUrlGuard(['10.0.0.0/99'], dns)).toThrow(ConfigError);
    expect(() => createUrlGuard(['10.0.0.0/99'], dns)).toThrow(/WEBHOOK_ALLOWLIST/);
  });
});

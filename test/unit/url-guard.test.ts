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
  'hooks.internal': ['10.9.9.9'],
});

function lookupOnce(guard: ReturnType<typeof createUrlGuard>, host: string, all = false): Promise<unknown> {
  return new Promise((resolve, reject) => guard.lookup(host, { all }, (err, address) => (err ? reject(err) : resolve(address))));
}

describe('the webhook URL guard', () => {
  const guard = createUrlGuard([], dns);

  it.each(['http://public.example/hook', 'https://93.184.215.14/x', 'https://v6.example/hook', 'https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/'])('lets %s through', async (url) => {
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
    ['a name resolving to a private address', 'http://inside.example/'],
    ['a name with one private address among public ones', 'http://mixed.example/'],
    ['a name resolving to the metadata address', 'http://metadata.example/'],
    ['a name resolving to an IPv4-mapped loopback', 'http://mapped.example/'],
  ])('refuses %s', async (_what, url) => {
    await expect(guard.check(url)).rejects.toMatchObject({ code: 'webhook_url_not_public' });
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

import { describe, expect, it, vi } from 'vitest';

import { isForbiddenAddress } from '../../federation/address-guard.ts';
import { ApiError } from '../../core/errors.ts';
import { DnsFailure, ServerDiscovery, type DnsResolver, type SrvRecord } from '../../federation/server-discovery.ts';
import { parseServerName } from '../../core/matrix-ids.ts';

/** Injected DNS: answers from tables, records every question, never sends a packet. */
function fakeDns(a: Record<string, string[]>, srv: Record<string, SrvRecord[]> = {}) {
  const asked: string[] = [];
  const dns: DnsResolver = {
    lookup: (host) => {
      asked.push(`A ${host}`);
      return a[host] === undefined ? Promise.reject(new Error('ENOTFOUND')) : Promise.resolve(a[host]);
    },
    resolveSrv: (name) => {
      asked.push(`SRV ${name}`);
      return srv[name] === undefined ? Promise.reject(new Error('ENODATA')) : Promise.resolve(srv[name]);
    },
  };
  return { dns, asked };
}

const discovery = (dns: DnsResolver, wellKnown: Record<string, unknown> = {}, privateAddressServers: string[] = []) => {
  const fetchWellKnown = vi.fn((ep: { host: string }) =>
    wellKnown[ep.host] === undefined ? Promise.reject(new Error('404')) : Promise.resolve(wellKnown[ep.host]),
  );
  return { d: new ServerDiscovery({ dns, fetchWellKnown, privateAddressServers, cacheMs: 60_000 }), fetchWellKnown };
};

describe('server name grammar', () => {
  it.each([
    ['example.org', { host: 'example.org', port: undefined, ip: false }],
    ['localhost:8481', { host: 'localhost', port: 8481, ip: false }],
    ['1.2.3.4:8448', { host: '1.2.3.4', port: 8448, ip: true }],
    ['[2001:db8::1]:443', { host: '2001:db8::1', port: 443, ip: true }],
  ])('parses %s', (name, expected) => {
    expect(parseServerName(name)).toEqual(expected);
  });

  it.each([
    '',
    'exa mple.org',
    'example.org:0',
    'example.org:99999',
    'example.org:',
    '[::1',
    'a'.repeat(256),
    'evil.org/path',
    'user@host',
  ])('refuses %j', (name) => {
    expect(parseServerName(name)).toBeUndefined();
  });
});

describe('SSRF address guard', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '0.0.0.0',
    '100.64.0.1',
    '::1',
    '::',
    'fd00::1',
    'fc00::5',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:169.254.169.254',
    'not-an-ip',
  ])('refuses %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });
  it.each(['8.8.8.8', '172.32.0.1', '93.184.216.34', '2a00:1450:4007::1'])('allows %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });
});

describe('server discovery (spec order)', () => {
  it('an explicit port connects there, Host = the server name, without well-known or SRV', async () => {
    const { dns, asked } = fakeDns({ 'matrix.example.org': ['93.184.216.34'] });
    const { d, fetchWellKnown } = discovery(dns);
    expect(await d.resolve('matrix.example.org:8449')).toEqual({
      serverName: 'matrix.example.org:8449',
      host: 'matrix.example.org',
      port: 8449,
      addresses: ['93.184.216.34'],
    });
    expect(fetchWellKnown).not.toHaveBeenCalled();
    expect(asked).toEqual(['A matrix.example.org']);
  });

  it('follows .well-known delegation, then SRV of the delegated name', async () => {
    const { dns } = fakeDns(
      { 'example.org': ['93.184.216.34'], 'fed.example.net': ['93.184.216.35'] },
      { '_matrix-fed._tcp.matrix.example.net': [{ name: 'fed.example.net', port: 8450, priority: 10, weight: 5 }] },
    );
    const { d } = discovery(dns, { 'example.org': { 'm.server': 'matrix.example.net' } });
    expect(await d.resolve('example.org')).toEqual({
      serverName: 'example.org',
      host: 'matrix.example.net',
      port: 8450,
      addresses: ['93.184.216.35'],
    });
  });

  it('uses the delegated name’s explicit port', async () => {
    const { dns } = fakeDns({ 'example.org': ['93.184.216.34'], 'matrix.example.net': ['93.184.216.36'] });
    const { d } = discovery(dns, { 'example.org': { 'm.server': 'matrix.example.net:443' } });
    expect(await d.resolve('example.org')).toMatchObject({
      host: 'matrix.example.net',
      port: 443,
      addresses: ['93.184.216.36'],
    });
  });

  it('without delegation tries SRV _matrix-fed._tcp, then _matrix._tcp, then port 8448', async () => {
    const { dns, asked } = fakeDns({ 'example.org': ['93.184.216.34'] });
    const { d } = discovery(dns);
    expect(await d.resolve('example.org')).toEqual({
      serverName: 'example.org',
      host: 'example.org',
      port: 8448,
      addresses: ['93.184.216.34'],
    });
    expect(asked).toEqual([
      'A example.org',
      'SRV _matrix-fed._tcp.example.org',
      'SRV _matrix._tcp.example.org',
      'A example.org',
    ]);

    const legacy = fakeDns(
      { 'example.com': ['93.184.216.34'], 'old.example.com': ['93.184.216.40'] },
      {
        '_matrix._tcp.example.com': [{ name: 'old.example.com', port: 8443, priority: 0, weight: 0 }],
      },
    );
    expect(await discovery(legacy.dns).d.resolve('example.com')).toMatchObject({
      host: 'example.com',
      port: 8443,
      addresses: ['93.184.216.40'],
    });
  });

  it.each([
    ['a name resolving to the metadata address', 'meta.example.org', { 'meta.example.org': ['169.254.169.254'] }],
    ['a name resolving to a private address', 'intranet.example.org', { 'intranet.example.org': ['10.0.0.7'] }],
    ['a name resolving into loopback', 'sneaky.example.org:8448', { 'sneaky.example.org': ['127.0.0.1'] }],
    [
      'a name with one good and one private address',
      'mixed.example.org',
      { 'mixed.example.org': ['93.184.216.34', '192.168.0.2'] },
    ],
    ['an IPv6 unique-local literal', '[fd00::1]:8448', {}],
    ['an IP literal in link-local space', '169.254.169.254', {}],
  ])('refuses %s before any connection is attempted', async (_what, name, table) => {
    const { dns } = fakeDns(table);
    const { d, fetchWellKnown } = discovery(dns);
    const err = await d.resolve(name).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).errcode).toBe('M_FORBIDDEN');
    expect((err as ApiError).reason).toBe('server_address_forbidden');
    // The well-known fetch is the first thing that would connect: it never happened.
    expect(fetchWellKnown).not.toHaveBeenCalled();
  });

  it('refuses a delegation that points into private space', async () => {
    const { dns } = fakeDns({ 'example.org': ['93.184.216.34'], 'internal.example.org': ['10.9.8.7'] });
    const { d } = discovery(dns, { 'example.org': { 'm.server': 'internal.example.org:8448' } });
    await expect(d.resolve('example.org')).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });
  });

  it('lets exactly the configured test servers resolve to loopback', async () => {
    const { dns } = fakeDns({ localhost: ['127.0.0.1', '::1'] });
    const { d } = discovery(dns, {}, ['localhost:8482']);
    expect(await d.resolve('localhost:8482')).toMatchObject({ port: 8482, addresses: ['127.0.0.1', '::1'] });
    await expect(d.resolve('localhost:8483')).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });
  });

  it('a lookup that timed out is a 504, not "unresolvable"', async () => {
    const dns: DnsResolver = {
      lookup: () => Promise.reject(new DnsFailure('timed_out', 'deadline')),
      resolveSrv: () => Promise.reject(new DnsFailure('not_found', 'none')),
    };
    const { d, fetchWellKnown } = discovery(dns);
    await expect(d.resolve('slow.example.org')).rejects.toMatchObject({
      status: 504,
      errcode: 'M_UNKNOWN',
      reason: 'server_resolution_timeout',
    });
    expect(fetchWellKnown).not.toHaveBeenCalled();
  });

  it('an SRV lookup that timed out is a 504 too, not "no SRV record"', async () => {
    const { dns: answers, asked } = fakeDns({ 'example.org': ['93.184.216.34'] });
    const dns: DnsResolver = {
      lookup: (host) => answers.lookup(host),
      resolveSrv: () => Promise.reject(new DnsFailure('timed_out', 'deadline')),
    };
    const { d } = discovery(dns);
    await expect(d.resolve('example.org')).rejects.toMatchObject({ status: 504, reason: 'server_resolution_timeout' });
    expect(asked).toEqual(['A example.org']);
  });

  it('a resolver at its cap gives 503 server_resolution_busy, not "unresolvable"', async () => {
    const dns: DnsResolver = {
      lookup: () => Promise.reject(new DnsFailure('busy', 'cap')),
      resolveSrv: () => Promise.reject(new DnsFailure('busy', 'cap')),
    };
    await expect(discovery(dns).d.resolve('example.org:8448')).rejects.toMatchObject({
      status: 503,
      reason: 'server_resolution_busy',
    });
  });

  it('a name that does not exist stays 502 server_unresolvable', async () => {
    const dns: DnsResolver = {
      lookup: () => Promise.reject(new DnsFailure('not_found', 'NXDOMAIN')),
      resolveSrv: () => Promise.reject(new DnsFailure('not_found', 'NXDOMAIN')),
    };
    await expect(discovery(dns).d.resolve('gone.example.org:8448')).rejects.toMatchObject({
      status: 502,
      reason: 'server_unresolvable',
    });
  });

  it('caches answers, and failures only briefly', async () => {
    let now = 0;
    const calls = { n: 0 };
    const dns: DnsResolver = {
      lookup: () => {
        calls.n++;
        return calls.n === 1 ? Promise.reject(new Error('SERVFAIL')) : Promise.resolve(['93.184.216.34']);
      },
      resolveSrv: () => Promise.reject(new Error('ENODATA')),
    };
    const d = new ServerDiscovery({
      dns,
      fetchWellKnown: () => Promise.reject(new Error('x')),
      privateAddressServers: [],
      cacheMs: 300_000,
      now: () => now,
    });
    await expect(d.resolve('flaky.example.org:8448')).rejects.toMatchObject({ status: 502 });
    await expect(d.resolve('flaky.example.org:8448')).rejects.toMatchObject({ status: 502 });
    now += 6_000;
    await expect(d.resolve('flaky.example.org:8448')).resolves.toMatchObject({ port: 8448 });
    now += 60_000;
    await d.resolve('flaky.example.org:8448');
    expect(calls.n).toBe(2);
  });
});

import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { BoundedDnsResolver, parseHosts } from '../../federation/dns-resolver.ts';
import { ApiError } from '../../core/errors.ts';
import { DnsFailure, ServerDiscovery } from '../../federation/server-discovery.ts';

interface Responder {
  /** `127.0.0.1:port`, as the resolver's `servers` option takes it. */
  server: string;
  /** Every question received, as "TYPE name". */
  questions: string[];
}

const types: Record<number, string> = { 1: 'A', 28: 'AAAA', 33: 'SRV' };

/**
 * A real DNS server on 127.0.0.1: answers A questions for the names of `zone` (IPv4 addresses), says
 * NODATA for their other types, NXDOMAIN for the names marked so, and never answers anything else.
 */
async function dnsResponder(zone: Record<string, string[] | 'nxdomain'>): Promise<Responder> {
  const socket = createSocket('udp4');
  const questions: string[] = [];
  socket.on('message', (query, peer) => {
    // Question: length-prefixed labels from byte 12 up to a zero byte, then type and class.
    const labels: string[] = [];
    let at = 12;
    for (let len = query.readUInt8(at); len > 0; len = query.readUInt8(at)) {
      labels.push(query.toString('latin1', at + 1, at + 1 + len));
      at += 1 + len;
    }
    const type = query.readUInt16BE(at + 1);
    const questionEnd = at + 5;
    const name = labels.join('.').toLowerCase();
    questions.push(`${types[type] ?? String(type)} ${name}`);
    const entry = zone[name];
    if (entry === undefined) return; // the black hole
    const answers = entry === 'nxdomain' || type !== 1 ? [] : entry;
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8180 | (entry === 'nxdomain' ? 3 : 0), 2); // response, RD, RA, rcode
    header.writeUInt16BE(1, 4); // questions
    header.writeUInt16BE(answers.length, 6);
    const records = answers.map((ip) => {
      const record = Buffer.alloc(16);
      record.writeUInt16BE(0xc00c, 0); // the name: pointer to the question's
      record.writeUInt16BE(1, 2); // A
      record.writeUInt16BE(1, 4); // IN
      record.writeUInt32BE(60, 6); // TTL
      record.writeUInt16BE(4, 10);
      ip.split('.').forEach((octet, i) => record.writeUInt8(Number(octet), 12 + i));
      return record;
    });
    socket.send(Buffer.concat([header, query.subarray(12, questionEnd), ...records]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(resolve)));
  return { server: `127.0.0.1:${socket.address().port}`, questions };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
});

const failureOf = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (err: unknown) => err,
  );

describe('bounded DNS resolution', () => {
  it('answers a name from its DNS server, though the host has no IPv6 address', async () => {
    const dns = await dnsResponder({ 'partner.test': ['192.0.2.7'] });
    const resolver = new BoundedDnsResolver({ servers: [dns.server], timeoutMs: 2_000 });
    expect(await resolver.lookup('partner.test')).toEqual(['192.0.2.7']);
    expect(dns.questions.sort()).toEqual(['A partner.test', 'AAAA partner.test']);
  });

  it('a name that exists in neither family is not found', async () => {
    const dns = await dnsResponder({ 'gone.test': 'nxdomain' });
    const resolver = new BoundedDnsResolver({ servers: [dns.server], timeoutMs: 2_000 });
    const err = await failureOf(resolver.lookup('gone.test'));
    expect(err).toBeInstanceOf(DnsFailure);
    expect((err as DnsFailure).kind).toBe('not_found');
  });

  it('a name whose DNS never answers fails as timed out, by its deadline', async () => {
    const blackHole = await dnsResponder({});
    const resolver = new BoundedDnsResolver({ servers: [blackHole.server], timeoutMs: 300 });
    const started = Date.now();
    const err = await failureOf(resolver.lookup('void.test'));
    expect(err).toBeInstanceOf(DnsFailure);
    expect((err as DnsFailure).kind).toBe('timed_out');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(blackHole.questions).toContain('A void.test');
  });

  it('an SRV question that is never answered times out too', async () => {
    const blackHole = await dnsResponder({});
    const resolver = new BoundedDnsResolver({ servers: [blackHole.server], timeoutMs: 300 });
    const err = await failureOf(resolver.resolveSrv('_matrix-fed._tcp.void.test'));
    expect((err as DnsFailure).kind).toBe('timed_out');
  });

  it('answers names of the hosts file without asking DNS', async () => {
    const hostsFile = join(mkdtempSync(join(tmpdir(), 'causerie-hosts-')), 'hosts');
    writeFileSync(
      hostsFile,
      [
        '# local names',
        '127.0.0.1\tlocalhost  Partner.Local   # the test federation',
        '::1 localhost ip6-localhost',
        '#10.0.0.1 commented.test',
        'not-an-address ignored.test',
        '',
      ].join('\n'),
    );
    const dns = await dnsResponder({ 'commented.test': 'nxdomain', 'ignored.test': 'nxdomain' });
    const resolver = new BoundedDnsResolver({ servers: [dns.server], timeoutMs: 2_000, hostsFile });
    expect(await resolver.lookup('localhost')).toEqual(['127.0.0.1', '::1']);
    expect(await resolver.lookup('partner.local.')).toEqual(['127.0.0.1']);
    expect(await resolver.lookup('ip6-localhost')).toEqual(['::1']);
    expect(dns.questions).toEqual([]);
    // Comments and lines without an address are not entries: those names go to DNS.
    await expect(resolver.lookup('commented.test')).rejects.toMatchObject({ kind: 'not_found' });
    await expect(resolver.lookup('ignored.test')).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('parses the system hosts file format', () => {
    expect(parseHosts('127.0.0.1 a b\n127.0.1.1 a # c\n\n  # x y\n::1\tb').get('a')).toEqual([
      '127.0.0.1',
      '127.0.1.1',
    ]);
  });

  it('while 50 black-holed names are being resolved, an answering name resolves before any of them settles', async () => {
    const dns = await dnsResponder({ 'partner.test': ['192.0.2.7'] });
    const resolver = new BoundedDnsResolver({ servers: [dns.server], timeoutMs: 2_000 });
    let settled = 0;
    const stuck = Array.from({ length: 50 }, (_, i) =>
      failureOf(resolver.lookup(`void-${i}.test`)).finally(() => {
        settled++;
      }),
    );
    expect(await resolver.lookup('partner.test')).toEqual(['192.0.2.7']);
    expect(settled).toBe(0);
    const failures = await Promise.all(stuck);
    expect(failures.map((e) => (e as DnsFailure).kind)).toEqual(Array<string>(50).fill('timed_out'));
  });

  it('past its cap on lookups in flight, a new name fails at once as busy', async () => {
    const blackHole = await dnsResponder({});
    const resolver = new BoundedDnsResolver({ servers: [blackHole.server], timeoutMs: 500, maxInFlight: 4 });
    let settled = 0;
    const stuck = Array.from({ length: 4 }, (_, i) =>
      failureOf(resolver.lookup(`void-${i}.test`)).finally(() => {
        settled++;
      }),
    );
    const refused = await failureOf(resolver.lookup('one-too-many.test'));
    expect(refused).toBeInstanceOf(DnsFailure);
    expect((refused as DnsFailure).kind).toBe('busy');
    expect(settled).toBe(0);
    // A name already in flight takes no new slot: it joins its lookup.
    const joined = failureOf(resolver.lookup('void-0.test'));
    expect(blackHole.questions).not.toContain('A one-too-many.test');
    expect(((await joined) as DnsFailure).kind).toBe('timed_out');
    await Promise.all(stuck);
    // Slots are given back when lookups end.
    expect(((await failureOf(resolver.lookup('later.test'))) as DnsFailure).kind).toBe('timed_out');
  });

  it('concurrent lookups of one name share one query', async () => {
    const dns = await dnsResponder({ 'partner.test': ['192.0.2.7', '192.0.2.8'] });
    const resolver = new BoundedDnsResolver({ servers: [dns.server], timeoutMs: 2_000 });
    const answers = await Promise.all(Array.from({ length: 10 }, () => resolver.lookup('Partner.test')));
    expect(answers).toEqual(Array<string[]>(10).fill(['192.0.2.7', '192.0.2.8']));
    expect(dns.questions.sort()).toEqual(['A partner.test', 'AAAA partner.test']);
  });

  it('refuses a DNS server it cannot use when built, not on the first lookup', () => {
    expect(() => new BoundedDnsResolver({ servers: ['dns.example.org'], timeoutMs: 2_000 })).toThrow();
  });
});

describe('server discovery over bounded DNS', () => {
  it('a server name whose DNS never answers is refused with 504 server_resolution_timeout', async () => {
    const blackHole = await dnsResponder({});
    const discovery = new ServerDiscovery({
      dns: new BoundedDnsResolver({ servers: [blackHole.server], timeoutMs: 300 }),
      fetchWellKnown: () => Promise.reject(new Error('no delegation')),
      privateAddressServers: [],
      cacheMs: 60_000,
    });
    for (const name of ['void.example.test', 'void.example.test:8448']) {
      const err = await failureOf(discovery.resolve(name));
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ status: 504, errcode: 'M_UNKNOWN', reason: 'server_resolution_timeout' });
    }
  });
});

import { describe, expect, it } from 'vitest';

import { isForbiddenAddress } from '../../federation/address-guard.ts';
import { formatIPv6, parseIPv6 } from '../../core/ip-addresses.ts';

describe('SSRF address guard: special-purpose ranges', () => {
  it.each([
    ['192.0.2.10', 'TEST-NET-1 (documentation)'],
    ['198.51.100.7', 'TEST-NET-2 (documentation)'],
    ['203.0.113.255', 'TEST-NET-3 (documentation)'],
    ['198.18.0.1', 'benchmarking, first /16'],
    ['198.19.255.254', 'benchmarking, second /16'],
    ['fec0::1', 'deprecated site-local'],
    ['feff:ffff::1', 'deprecated site-local, top of the range'],
    ['64:ff9b:1::a00:1', 'local-use NAT64 (RFC 8215)'],
    ['64:ff9b::808:808', 'well-known NAT64 prefix, even to a public address'],
    ['2001:db8::1', 'IPv6 documentation'],
    ['3fff::1', 'IPv6 documentation (RFC 9637)'],
  ])('refuses %s (%s)', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each([
    ['::ffff:7f00:1', 'IPv4-mapped loopback in hex form'],
    ['::FFFF:A9FE:A9FE', 'IPv4-mapped metadata address in upper-case hex'],
    ['0:0:0:0:0:ffff:a00:1', 'IPv4-mapped private address, uncompressed'],
    ['::ffff:0:127.0.0.1', 'IPv4-translated loopback (RFC 2765)'],
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['::8.8.8.8', 'IPv4-compatible, deprecated whatever it embeds'],
    ['2002:7f00:1::', '6to4 of loopback'],
    ['2002:a9fe:a9fe::1', '6to4 of the metadata address'],
    ['2002:c0a8:101:1::1', '6to4 of 192.168.1.1'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo whose client is 127.0.0.1'],
    ['2001:0:a00:1::1', 'Teredo whose server is 10.0.0.1'],
  ])('refuses %s (%s)', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each([
    ['8.8.4.4', 'public IPv4'],
    ['192.0.3.1', 'just past TEST-NET-1'],
    ['198.17.255.255', 'just before benchmarking'],
    ['198.20.0.1', 'just past benchmarking'],
    ['203.0.114.1', 'just past TEST-NET-3'],
    ['::ffff:808:808', 'IPv4-mapped public address in hex form'],
    ['::ffff:8.8.8.8', 'IPv4-mapped public address in dotted form'],
    ['2002:808:808::1', '6to4 of a public address'],
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'Teredo of a public client and server'],
    ['2a00:1450:4007:80e::200e', 'public IPv6'],
    ['64:ff9b:2::1', 'past the local-use NAT64 /48'],
    ['ff0::1', 'not multicast (ff00::/8 starts higher)'],
  ])('allows %s (%s)', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(false);
  });
});

describe('IPv6 text', () => {
  it.each([
    ['::', '::'],
    ['::1', '::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0001:0000:0000:0000:0000', '2001:db8:0:1::'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:127.0.0.1', '::ffff:7f00:1'],
    ['fe80::1%eth0', 'fe80::1'],
  ])('%s is %s in canonical form', (text, canonical) => {
    const words = parseIPv6(text);
    expect(words).toHaveLength(8);
    expect(formatIPv6(words ?? [])).toBe(canonical);
  });

  it.each(['1.2.3.4', 'example.org', '1::2::3', ''])('%j is not IPv6', (text) => {
    expect(parseIPv6(text)).toBeUndefined();
  });
});

/**
 * SSRF guard for federation requests: which IP addresses a homeserver name may resolve to.
 * Loopback, private, link-local (cloud metadata), CGNAT, documentation, benchmarking, multicast and
 * unspecified addresses are refused unless the server name is explicitly allowed (a local test
 * federation), and so are IPv6 forms that carry a refused IPv4 address (mapped, 6to4, Teredo).
 * Also home of the IPv6 arithmetic that guard needs (parsing, canonical form), which rate-limit keys
 * and server-name lists share.
 */
import { BlockList, isIP } from 'node:net';

import { dotted, formatIPv6, mappedIPv4, parseIPv6 } from '../core/ip-addresses.ts';

const blockedV4 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24], // TEST-NET-1 (documentation)
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blockedV4.addSubnet(net, prefix, 'ipv4');
}

const blockedV6 = new BlockList();
for (const [net, prefix] of [
  // Unspecified, loopback, and the deprecated IPv4-compatible ::a.b.c.d (RFC 4291): never routed.
  ['::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10], // deprecated site-local (RFC 3879)
  ['ff00::', 8],
  // NAT64 (RFC 6052) and its local-use prefix (RFC 8215): whatever they translate to is on the
  // operator's side of the translator, which we cannot vet.
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation (RFC 9637)
] as const) {
  blockedV6.addSubnet(net, prefix, 'ipv6');
}

/** IPv4 addresses an IPv6 address leads to: mapped, IPv4-translated (RFC 2765), 6to4, Teredo. */
function embeddedIPv4(words: readonly number[]): string[] {
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0] = words;
  const mapped = mappedIPv4(words);
  if (mapped !== undefined) return [mapped];
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0xffff && f === 0) return [dotted(g, h)];
  if (a === 0x2002) return [dotted(b, c)];
  // Teredo: the server's address, and the client's with its bits inverted.
  if (a === 0x2001 && b === 0) return [dotted(c, d), dotted(g ^ 0xffff, h ^ 0xffff)];
  return [];
}

/** Whether an address is in a range federation must not reach by default. Non-IPs are refused. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 4) return blockedV4.check(address, 'ipv4');
  const words = parseIPv6(address);
  if (words === undefined) return true;
  if (blockedV6.check(formatIPv6(words), 'ipv6')) return true;
  return embeddedIPv4(words).some((v4) => blockedV4.check(v4, 'ipv4'));
}

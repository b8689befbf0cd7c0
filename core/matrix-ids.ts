/**
 * Matrix identifier grammar used at the edges: user ids, room ids, device ids, and how configured
 * server-name lists match a server name.
 */
import { isIP } from 'node:net';

import { formatIPv6, parseIPv6 } from './ip-addresses.ts';

export interface ParsedServerName {
  /** Host without IPv6 brackets. */
  host: string;
  port: number | undefined;
  ip: boolean;
}

const dnsName =
  /^(?=.{1,255}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\.?$/;

/** Parses `host[:port]` per the spec's server name grammar; undefined when invalid. */
export function parseServerName(name: string): ParsedServerName | undefined {
  if (name.length === 0 || name.length > 255) return undefined;
  let host: string;
  let portText: string | undefined;
  if (name.startsWith('[')) {
    const end = name.indexOf(']');
    if (end < 0) return undefined;
    host = name.slice(1, end);
    const rest = name.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return undefined;
    portText = rest === '' ? undefined : rest.slice(1);
    if (isIP(host) !== 6) return undefined;
  } else {
    const colon = name.lastIndexOf(':');
    host = colon < 0 ? name : name.slice(0, colon);
    portText = colon < 0 ? undefined : name.slice(colon + 1);
    if (isIP(host) !== 4 && !dnsName.test(host)) return undefined;
  }
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
    if (port < 1 || port > 65535) return undefined;
  }
  return { host, port, ip: isIP(host) !== 0 };
}

const localpartRe = /^[!-9;-~]+$/; // printable ASCII except ':' (historical user ids included)

/** The server name of a valid user id (`@localpart:server`), or undefined. */
export function serverOfUserId(userId: string): string | undefined {
  if (userId.length > 255 || !userId.startsWith('@')) return undefined;
  const colon = userId.indexOf(':');
  if (colon < 2) return undefined;
  const localpart = userId.slice(1, colon);
  const server = userId.slice(colon + 1);
  if (!localpartRe.test(localpart) || parseServerName(server) === undefined) return undefined;
  return server;
}

/** Room ids: `!opaque` (v12+) or `!opaque:server`; printable ASCII, bounded. */
export function isValidRoomId(roomId: string): boolean {
  return roomId.length >= 2 && roomId.length <= 255 && roomId.startsWith('!') && /^![!-~]+$/.test(roomId);
}

/**
 * Device ids become part of LiveKit identities (`<user_id>:<device_id>`), so a colon or a control
 * character could make two members' identities collide: refuse them.
 */
export function isValidDeviceId(deviceId: string): boolean {
  return deviceId.length >= 1 && deviceId.length <= 255 && /^[!-9;-~]+$/.test(deviceId);
}

/**
 * A server name as lists compare it: host lowercased, one trailing dot of a DNS name dropped, an
 * IPv6 literal in canonical form; undefined when the name is not valid.
 */
function normalisedServerName(name: string): { host: string; port: number | undefined } | undefined {
  const parsed = parseServerName(name);
  if (parsed === undefined) return undefined;
  const words = parsed.ip ? parseIPv6(parsed.host) : undefined;
  if (words !== undefined) return { host: formatIPv6(words), port: parsed.port };
  const host = parsed.host.toLowerCase();
  return { host: host.endsWith('.') ? host.slice(0, -1) : host, port: parsed.port };
}

/**
 * Whether a configured list entry covers a server name. An entry without a port covers the host on
 * every port (whoever controls the host's DNS controls all its ports); an entry with a port covers
 * exactly that port. Invalid names only match an identical (case-insensitive) entry.
 */
export function serverNameMatches(name: string, entry: string): boolean {
  const n = normalisedServerName(name);
  const e = normalisedServerName(entry);
  if (n === undefined || e === undefined) return name.toLowerCase() === entry.toLowerCase();
  return n.host === e.host && (e.port === undefined || e.port === n.port);
}

/** Whether any entry of a configured server-name list covers a server name. */
export function isServerNameListed(name: string, entries: readonly string[]): boolean {
  return entries.some((entry) => serverNameMatches(name, entry));
}

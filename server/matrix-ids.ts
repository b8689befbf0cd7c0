/**
 * Matrix identifier grammar used at the edges: user ids, room ids, device ids.
 */
import { parseServerName } from './server-discovery.ts';

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

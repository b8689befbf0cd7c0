import { describe, expect, it } from 'vitest';

import {
  livekitIdentityForMember,
  livekitLegacyIdentity,
  livekitRoomAlias,
  ROOM_CALL_SLOT,
} from '../../core/livekit-names.ts';

/** The same derivation through Web Crypto, written apart from the module under test. */
async function independent(parts: string[]): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(parts)));
  let binary = '';
  for (const byte of new Uint8Array(digest)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/=+$/, '');
}

describe('LiveKit names (lk-jwt-service derivation)', () => {
  it('matches the room alias vector from lk-jwt-service’s own tests', () => {
    expect(livekitRoomAlias('!roomid:example.com', 'slot1234')).toBe('O8437W3+jmzMVjoIP3tNwbm+XxHQk2iKpOA7aqw3qSc');
  });

  it('matches the member identity vector from lk-jwt-service’s own tests', () => {
    expect(livekitIdentityForMember('@alice:example.com', 'DEVICE123', 'memberABC')).toBe(
      'J+T45tGruxc+HrUOqJJlyQSV33m728Cme4+vt8/SWrU',
    );
  });

  it('derives the call room of a v12 room id like an independent implementation, with the ROOM slot by default', async () => {
    const roomId = '!Xq3620DUiqCaoxq-2PeOg4K4KE-ZN4yV3QBtVwprEIE';
    expect(livekitRoomAlias(roomId)).toBe(await independent([roomId, 'm.call#ROOM']));
    expect(livekitRoomAlias(roomId)).toBe(livekitRoomAlias(roomId, ROOM_CALL_SLOT));
    expect(livekitRoomAlias(roomId)).not.toMatch(/=|-|_/);
  });

  it('derives member identities like an independent implementation, distinct per member id', async () => {
    const a = livekitIdentityForMember('@bob:localhost:8482', 'BOBDEV', 'm1');
    expect(a).toBe(await independent(['@bob:localhost:8482', 'BOBDEV', 'm1']));
    expect(a).not.toBe(livekitIdentityForMember('@bob:localhost:8482', 'BOBDEV', 'm2'));
  });

  it('uses <user_id>:<device_id> on /sfu/get, as state-event members publish', () => {
    expect(livekitLegacyIdentity('@bob:localhost:8482', 'BOBDEV')).toBe('@bob:localhost:8482:BOBDEV');
  });
});

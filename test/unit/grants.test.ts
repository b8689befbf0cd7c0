import { describe, expect, it } from 'vitest';

import type { Membership } from '../../core/matrix-events.ts';
import { parsePowerLevels, type RoomView } from '../../core/room-model.ts';
import { ApiError } from '../../core/errors.ts';
import { decideGrant, type GrantPolicy } from '../../core/grants.ts';

const policy: GrantPolicy = {
  localServer: 'a.example',
  fullAccessServers: ['a.example'],
  remoteUsers: 'publish',
};

function room(
  members: Record<string, Membership>,
  pl: Record<string, unknown> = {},
  creators: string[] = [],
): RoomView {
  return {
    roomId: '!r',
    roomVersion: '12',
    creators: new Set(creators),
    members: new Map(Object.entries(members).map(([u, m]) => [u, { membership: m, displayname: `${u} name` }])),
    powerLevels: parsePowerLevels({ users: {}, ...pl }),
  };
}

describe('who gets a token, with what rights', () => {
  it.each([
    ['ban', 'banned'],
    ['leave', 'left'],
    ['invite', 'invited_not_joined'],
    ['knock', 'knocking'],
  ] as const)('a member whose membership is %s is refused (%s)', (membership, reason) => {
    const d = decideGrant(room({ '@bob:b.example': membership }), '@bob:b.example', 'b.example', policy);
    expect(d).toBeInstanceOf(ApiError);
    expect(d).toMatchObject({ errcode: 'M_FORBIDDEN', status: 403, reason });
  });

  it('a stranger to the room is refused', () => {
    expect(decideGrant(room({}), '@x:b.example', 'b.example', policy)).toMatchObject({ reason: 'not_member' });
  });

  it('a joined local member may publish and start the call; a joined partner may publish but not start it', () => {
    const r = room({ '@alice:a.example': 'join', '@bob:b.example': 'join' });
    expect(decideGrant(r, '@alice:a.example', 'a.example', policy)).toEqual({
      canPublish: true,
      canSubscribe: true,
      mayCreateRoom: true,
      displayName: '@alice:a.example name',
    });
    expect(decideGrant(r, '@bob:b.example', 'b.example', policy)).toMatchObject({
      canPublish: true,
      mayCreateRoom: false,
    });
  });

  it('the remote_users switch tightens what partners may do', () => {
    const r = room({ '@bob:b.example': 'join' });
    expect(decideGrant(r, '@bob:b.example', 'b.example', { ...policy, remoteUsers: 'subscribe' })).toMatchObject({
      canPublish: false,
      canSubscribe: true,
    });
    expect(decideGrant(r, '@bob:b.example', 'b.example', { ...policy, remoteUsers: 'deny' })).toMatchObject({
      reason: 'remote_denied',
    });
  });

  it('a moderator’s grant is the same as anyone’s: no admin rights in LiveKit (moderation goes through the service)', () => {
    const mod = room({ '@bob:b.example': 'join', '@creator:a.example': 'join' }, { users: { '@bob:b.example': 100 } }, [
      '@creator:a.example',
    ]);
    for (const [user, server] of [
      ['@bob:b.example', 'b.example'],
      ['@creator:a.example', 'a.example'],
    ] as const) {
      const g = decideGrant(mod, user, server, policy);
      expect(g).not.toBeInstanceOf(ApiError);
      expect(Object.keys(g)).not.toContain('roomAdmin');
    }
  });

  it('power levels given as strings (rooms before v10) count', () => {
    const r = room(
      { '@low:a.example': 'join', '@mod:a.example': 'join' },
      { users: { '@mod:a.example': '50' }, events: { 'org.matrix.msc3401.call.member': ' 50 ' } },
    );
    expect(decideGrant(r, '@low:a.example', 'a.example', policy)).toMatchObject({ canPublish: false });
    expect(decideGrant(r, '@mod:a.example', 'a.example', policy)).toMatchObject({ canPublish: true });
  });

  it('publishing needs the room’s call power level when the room sets one', () => {
    const r = room(
      { '@low:a.example': 'join', '@mod:a.example': 'join' },
      { users: { '@mod:a.example': 50 }, events: { 'org.matrix.msc3401.call.member': 50 } },
    );
    expect(decideGrant(r, '@low:a.example', 'a.example', policy)).toMatchObject({
      canPublish: false,
      canSubscribe: true,
    });
    expect(decideGrant(r, '@mod:a.example', 'a.example', policy)).toMatchObject({ canPublish: true });
  });
});

describe('MatrixRTC membership parsing', () => {
  it('counts a device listed twice in the MSC3401 m.calls shape once', async () => {
    const { parseMembershipEvent } = await import('../../core/rtc-membership.ts');
    const parsed = parseMembershipEvent({
      type: 'org.matrix.msc3401.call.member',
      state_key: '@bob:b.example',
      sender: '@bob:b.example',
      content: { memberships: [{ device_id: 'A' }, { device_id: 'A' }, { device_id: 'B' }] },
    });
    expect(parsed.memberships.map((m) => m.deviceId)).toEqual(['A', 'B']);
  });

  it('ignores a per-device membership written by someone else than the user it names', async () => {
    const { parseMembershipEvent } = await import('../../core/rtc-membership.ts');
    const parsed = parseMembershipEvent({
      type: 'org.matrix.msc3401.call.member',
      state_key: '_@alice:a.example_DEV_m.call',
      sender: '@mallory:a.example',
      content: { device_id: 'DEV', application: 'm.call' },
    });
    expect(parsed).toMatchObject({ rtc: true, memberships: [] });
  });
});

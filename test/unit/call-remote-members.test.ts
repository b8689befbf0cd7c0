import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { CallRow } from '../../appservice/call-store.ts';
import { RemoteMembers, remoteMembers, sameService } from '../../appservice/remote-members.ts';
import { createLogger } from '../../core/log.ts';
import { parsePowerLevels } from '../../core/matrix-events.ts';
import type { CallRoomView, RoomMember } from '../../core/room-model.ts';
import type { RtcMembership } from '../../core/rtc-membership.ts';

const OURS = 'https://causerie.a.example';
const THEIRS = 'https://rtc.b.example/livekit/jwt';
const ROOM = '!r:a.example';

const membership = (user: string, serviceUrl: string | undefined, expiresAt?: Date): RtcMembership => ({
  stateKey: `_${user}_DEV_m.call`,
  userId: user,
  deviceId: 'DEV',
  livekitIdentity: `${user}:DEV`,
  livekitServiceUrl: serviceUrl,
  expiresAt,
});

const joined: RoomMember = { membership: 'join', displayname: undefined };

function roomWith(memberships: RtcMembership[], members: [string, RoomMember][]): CallRoomView {
  return {
    roomId: ROOM,
    roomVersion: '12',
    creators: new Set(),
    members: new Map(members),
    rtc: new Map(memberships.map((m) => [m.stateKey, [m]])),
    powerLevels: parsePowerLevels({}),
  };
}

describe('members on other SFUs, from memberships', () => {
  it('counts joined members whose membership names another service, not expired; ours and unnamed are ours', () => {
    const now = Date.now();
    const room = roomWith(
      [
        membership('@bob:b.example', THEIRS),
        membership('@alice:a.example', `${OURS}/`),
        membership('@dan:a.example', undefined),
        membership('@eve:b.example', THEIRS, new Date(now - 1)),
        membership('@left:b.example', THEIRS),
        membership('@carol:b.example', 'HTTPS://RTC.B.EXAMPLE/livekit/jwt/'),
      ],
      [
        ['@bob:b.example', joined],
        ['@alice:a.example', joined],
        ['@dan:a.example', joined],
        ['@eve:b.example', joined],
        ['@left:b.example', { membership: 'leave', displayname: undefined }],
        ['@carol:b.example', joined],
      ],
    );
    expect(remoteMembers(room, OURS, now).map((m) => m.userId)).toEqual(['@bob:b.example', '@carol:b.example']);
    expect(sameService('https://X.example/', 'https://x.example')).toBe(true);
    expect(sameService('https://x.example/a', 'https://x.example/b')).toBe(false);
  });
});

describe('a call held on another SFU', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const setup = () => {
    let room = roomWith([], []);
    let call: CallRow | undefined;
    const rows = new Map<string, boolean>();
    const store = {
      running: vi.fn(() => Promise.resolve(call)),
      start: vi.fn((roomId: string, alias: string, by: string | undefined) => {
        call ??= {
          callId: 7,
          roomId,
          livekitRoom: alias,
          startedAt: new Date(),
          startedBy: by,
          startEventId: undefined,
        };
        return Promise.resolve({ call, created: true, resumed: false });
      }),
      openParticipants: vi.fn(() => Promise.resolve([...rows].filter(([, open]) => open).map(([id]) => id))),
      participantJoined: vi.fn((_c: number, identity: string) => {
        rows.set(identity, true);
        return Promise.resolve();
      }),
      participantLeft: vi.fn((_c: number, identity: string) => {
        rows.set(identity, false);
        return Promise.resolve();
      }),
    };
    const calls = {
      finish: vi.fn(() => {
        call = undefined;
        return Promise.resolve();
      }),
      announceStartedElsewhere: vi.fn(() => Promise.resolve()),
    };
    const remote = new RemoteMembers({
      rooms: { peek: () => room },
      store,
      calls,
      log: createLogger('test', () => undefined),
      publicUrl: OURS,
      endGraceMs: 30_000,
    });
    const setRoom = (r: CallRoomView): void => {
      room = r;
    };
    return { remote, store, calls, rows, setRoom };
  };

  it('is recorded and announced, counts its members, and ends once nobody is left after the grace period', async () => {
    const { remote, store, calls, rows, setRoom } = setup();
    const bob = membership('@bob:b.example', THEIRS);
    setRoom(roomWith([bob], [['@bob:b.example', joined]]));
    expect(remote.concerns(ROOM, { kind: 'rtc', stateKey: bob.stateKey, memberships: [bob] })).toBe(true);
    await remote.sync(ROOM);
    expect(store.start).toHaveBeenCalledWith(ROOM, expect.any(String), '@bob:b.example', undefined);
    expect(calls.announceStartedElsewhere).toHaveBeenCalledWith(
      expect.objectContaining({ callId: 7 }),
      '@bob:b.example',
    );
    expect([...rows]).toEqual([['remote:@bob:b.example:DEV', true]]);
    expect(remote.present(ROOM)).toBe(true);

    // Bob leaves: his row closes, the call waits for the grace period.
    setRoom(roomWith([], [['@bob:b.example', joined]]));
    expect(remote.concerns(ROOM, { kind: 'rtc', stateKey: bob.stateKey, memberships: [] })).toBe(true);
    await remote.sync(ROOM);
    expect(rows.get('remote:@bob:b.example:DEV')).toBe(false);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(calls.finish).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(calls.finish).toHaveBeenCalledWith(ROOM, 'everyone_left');
  });

  it('coming back within the grace period continues the same call', async () => {
    const { remote, store, calls, setRoom } = setup();
    const bob = membership('@bob:b.example', THEIRS);
    setRoom(roomWith([bob], [['@bob:b.example', joined]]));
    await remote.sync(ROOM);
    setRoom(roomWith([], [['@bob:b.example', joined]]));
    await remote.sync(ROOM);
    await vi.advanceTimersByTimeAsync(10_000);
    setRoom(roomWith([bob], [['@bob:b.example', joined]]));
    await remote.sync(ROOM);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls.finish).not.toHaveBeenCalled();
    expect(store.start).toHaveBeenCalledTimes(1);
  });

  it('is no concern of a room where everyone is on our SFU', () => {
    const { remote } = setup();
    const alice = membership('@alice:a.example', OURS);
    expect(remote.concerns(ROOM, { kind: 'rtc', stateKey: alice.stateKey, memberships: [alice] })).toBe(false);
    expect(
      remote.concerns(ROOM, { kind: 'member', userId: '@x:b.example', membership: 'leave', displayname: undefined }),
    ).toBe(false);
  });
});

import { describe, expect, it, vi } from 'vitest';

import { HomeserverError } from '../../appservice/homeserver-client.ts';
import { RoomNotVisibleError, type RoomView } from '../../core/room-model.ts';
import { RoomStates } from '../../appservice/room-cache.ts';
import type { RoomStore } from '../../appservice/room-store.ts';
import { ApiError } from '../../core/errors.ts';
import { createLogger } from '../../core/log.ts';
import { TokenService } from '../../server/token-service.ts';

const bot = '@causerie:a.example';
const store = {
  saveSnapshot: () => Promise.resolve(),
  applyChange: () => Promise.resolve(),
  deleteRoom: () => Promise.resolve(),
  loadRooms: () => Promise.resolve([]),
} as unknown as RoomStore;

const stateOf = (members: Record<string, string>) => [
  { type: 'm.room.create', state_key: '', sender: '@alice:a.example', content: { room_version: '12' } },
  ...Object.entries(members).map(([u, m]) => ({
    type: 'm.room.member',
    state_key: u,
    sender: u,
    content: { membership: m },
  })),
];

describe('the room view', () => {
  it('remembers for a while that the bot is not in a room: unknown room ids cost one homeserver read', async () => {
    const roomState = vi.fn(() => Promise.reject(new HomeserverError(403, 'M_FORBIDDEN', 'not in room')));
    const rooms = new RoomStates({ homeserver: { roomState, memberState: vi.fn() }, store, botUserId: bot });
    for (let i = 0; i < 5; i++)
      await expect(rooms.get('!unknown:a.example')).rejects.toBeInstanceOf(RoomNotVisibleError);
    expect(roomState).toHaveBeenCalledTimes(1);
  });

  it('skips state events it cannot decode and keeps the rest', async () => {
    const roomState = vi.fn(() =>
      Promise.resolve([
        ...stateOf({ [bot]: 'join', '@bob:b.example': 'join' }),
        { type: 'm.room.member', state_key: '@eve:b.example', sender: 7, content: { membership: 'join' } },
        'garbage',
      ]),
    );
    const rooms = new RoomStates({ homeserver: { roomState, memberState: vi.fn() }, store, botUserId: bot });
    const room = await rooms.get('!r:a.example');
    expect(room.members.get('@bob:b.example')?.membership).toBe('join');
    expect(room.members.has('@eve:b.example')).toBe(false);
  });
});

describe('reading a busy room', () => {
  it('an event arriving during the read is applied on top of it: the view is never older than an event seen', async () => {
    let release: (v: unknown) => void = () => undefined;
    const roomState = vi.fn(
      () =>
        new Promise((resolve) => {
          release = resolve;
        }),
    );
    const rooms = new RoomStates({ homeserver: { roomState, memberState: vi.fn() }, store, botUserId: bot });
    const reading = rooms.refresh('!busy:a.example');
    // The ban arrives while the homeserver is still answering with the state from before it.
    rooms.apply({
      type: 'm.room.member',
      state_key: '@bob:b.example',
      sender: '@alice:a.example',
      room_id: '!busy:a.example',
      content: { membership: 'ban' },
    });
    release(stateOf({ [bot]: 'join', '@bob:b.example': 'join' }));
    const room = await reading;
    expect(room.members.get('@bob:b.example')?.membership).toBe('ban');
    expect(rooms.peek('!busy:a.example')?.members.get('@bob:b.example')?.membership).toBe('ban');
    expect(roomState).toHaveBeenCalledTimes(1);
  });

  it('keeps at most 32 MatrixRTC memberships per member; past that, new ones are not kept', async () => {
    const rooms = new RoomStates({
      homeserver: {
        roomState: () => Promise.resolve(stateOf({ [bot]: 'join', '@m:b.example': 'join' })),
        memberState: vi.fn(),
      },
      store,
      botUserId: bot,
    });
    await rooms.get('!rtc:a.example');
    for (let i = 0; i < 40; i++) {
      rooms.apply({
        type: 'org.matrix.msc3401.call.member',
        state_key: `_@m:b.example_D${i}_m.call`,
        sender: '@m:b.example',
        room_id: '!rtc:a.example',
        content: { device_id: `D${i}` },
      });
    }
    expect(rooms.peek('!rtc:a.example')?.rtc.size).toBe(32);
    // Leaving one makes room for another.
    rooms.apply({
      type: 'org.matrix.msc3401.call.member',
      state_key: '_@m:b.example_D0_m.call',
      sender: '@m:b.example',
      room_id: '!rtc:a.example',
      content: {},
    });
    rooms.apply({
      type: 'org.matrix.msc3401.call.member',
      state_key: '_@m:b.example_D39_m.call',
      sender: '@m:b.example',
      room_id: '!rtc:a.example',
      content: { device_id: 'D39' },
    });
    expect(rooms.peek('!rtc:a.example')?.rtc.has('_@m:b.example_D39_m.call')).toBe(true);
    // A member's identities are found without scanning everyone's memberships.
    const identities = rooms.peek('!rtc:a.example')?.rtcIdentitiesOf?.('@m:b.example') ?? [];
    expect(identities).toHaveLength(32);
    expect(identities).toContain('@m:b.example:D39');
    expect(identities).not.toContain('@m:b.example:D0');
  });
});

describe('a room whose read failed', () => {
  it('is known to be possibly behind until a read succeeds', async () => {
    let fail = false;
    const roomState = vi.fn(() =>
      fail
        ? Promise.reject(new HomeserverError(502, undefined, 'bad gateway'))
        : Promise.resolve(stateOf({ [bot]: 'join', '@bob:b.example': 'join' })),
    );
    const rooms = new RoomStates({ homeserver: { roomState, memberState: vi.fn() }, store, botUserId: bot });
    await rooms.get('!r:a.example');
    expect(rooms.stale('!r:a.example')).toBeUndefined();
    fail = true;
    await expect(rooms.refresh('!r:a.example')).rejects.toBeInstanceOf(HomeserverError);
    expect(rooms.stale('!r:a.example')).toBe('room_read_failed');
    expect(rooms.stale('!other:a.example')).toBeUndefined();
    fail = false;
    await rooms.refresh('!r:a.example');
    expect(rooms.stale('!r:a.example')).toBeUndefined();
  });
});

describe('grants on a view that may be behind', () => {
  const room: RoomView = {
    roomId: '!r:a.example',
    roomVersion: '12',
    creators: new Set(['@alice:a.example']),
    members: new Map([['@bob:b.example', { membership: 'join', displayname: undefined }]]),
    hasServer: (server: string) => server === 'b.example',
    powerLevels: {
      users: {},
      users_default: 0,
      events: {},
      state_default: 50,
      events_default: 0,
      kick: 50,
      ban: 50,
      invite: 0,
      redact: 50,
    },
  };
  const banned: RoomView = {
    ...room,
    members: new Map([['@bob:b.example', { membership: 'ban', displayname: undefined }]]),
  };
  const service = (over: { stale?: string; confirm?: () => Promise<RoomView>; dbUp?: boolean }) => {
    const confirmMember = vi.fn(over.confirm ?? (() => Promise.resolve(room)));
    const record = vi.fn(() => Promise.resolve());
    const svc = new TokenService(
      {
        verifier: { verify: () => Promise.resolve('@bob:b.example') },
        rooms: { get: () => Promise.resolve(room), confirmMember, stale: () => over.stale },
        identities: { record },
        databaseAvailable: () => over.dbUp ?? true,
        delayedLeaves: { register: () => Promise.resolve() },
        livekitRooms: { ensure: () => Promise.resolve('exists') },
        audit: { record: vi.fn() },
        log: createLogger('test', () => undefined),
      },
      {
        livekitUrl: 'ws://lk',
        apiKey: 'k',
        apiSecret: 's'.repeat(32),
        ttlSeconds: 900,
        allowServers: [],
        denyServers: [],
        policy: {
          localServer: 'a.example',
          fullAccessServers: ['a.example'],
          remoteUsers: 'publish',
        },
      },
    );
    return { svc, confirmMember, record };
  };
  const request = {
    endpoint: 'sfu_get' as const,
    roomId: '!r:a.example',
    slotId: 'm.call#ROOM',
    openIdToken: { access_token: 't', matrix_server_name: 'b.example' },
    deviceId: 'DEV',
    memberId: undefined,
    claimedUserId: undefined,
    delayedLeave: undefined,
  };

  it('a server with nobody in the room is refused like any non-member, before any verification', async () => {
    const verify = vi.fn(() => Promise.resolve('@x:nowhere.example'));
    const { svc } = service({});
    (svc as unknown as { deps: { verifier: { verify: typeof verify } } }).deps.verifier.verify = verify;
    const err = await svc
      .issue({ ...request, openIdToken: { access_token: 't', matrix_server_name: 'nowhere.example' } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 403, reason: 'not_member' });
    expect(verify).not.toHaveBeenCalled();
  });

  it('with a current view, grants without asking the homeserver, and records the identity', async () => {
    const { svc, confirmMember, record } = service({});
    await expect(svc.issue(request)).resolves.toMatchObject({ url: 'ws://lk' });
    expect(confirmMember).not.toHaveBeenCalled();
    expect(record).toHaveBeenCalledWith(
      expect.objectContaining({ userId: '@bob:b.example', identity: '@bob:b.example:DEV' }),
    );
  });

  it('while a transaction is held, confirms with the homeserver first: a ban it holds is honoured', async () => {
    const { svc, confirmMember } = service({ stale: 'transaction_held', confirm: () => Promise.resolve(banned) });
    await expect(svc.issue(request)).rejects.toMatchObject({ status: 403, reason: 'banned' });
    expect(confirmMember).toHaveBeenCalledTimes(1);
  });

  it('while a transaction is held and the homeserver cannot be asked, refuses (503) rather than guess', async () => {
    const { svc } = service({ stale: 'transaction_held', confirm: () => Promise.reject(new Error('ECONNREFUSED')) });
    await expect(svc.issue(request)).rejects.toMatchObject({ status: 503, reason: 'local_homeserver_unreachable' });
  });

  it('with the database unreachable, fails closed (503) before anything else', async () => {
    const { svc } = service({ dbUp: false });
    const err = await svc.issue(request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 503, reason: 'database_unavailable' });
  });

  it('an identity that cannot be recorded is not granted (503)', async () => {
    const { svc, record } = service({});
    record.mockImplementationOnce(() => Promise.reject(new Error('connection terminated')));
    await expect(svc.issue(request)).rejects.toMatchObject({ status: 503, reason: 'database_unavailable' });
  });
});

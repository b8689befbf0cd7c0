/**
 * Calls across SFUs, the widget's part without servers: which token service a membership names,
 * which SFUs we subscribe on (one connection per service, never our own), our own transport from the
 * well-known, and connections that follow memberships and survive a failing service.
 */
import { EventEmitter } from 'node:events';

import { RoomEvent, type Room } from 'livekit-client';
import { describe, expect, it, vi } from 'vitest';

import { CallMembers, type CallMember } from '../../widget/core/call-members.ts';
import { onePerDevice } from '../../widget/core/projection.ts';
import { remoteServices, transportFromWellKnown } from '../../widget/core/sfu-plan.ts';
import { RemoteSfus } from '../../widget/call/remote-sfus.ts';

const membership = (user: string, device: string, foci: unknown) => ({
  type: 'org.matrix.msc3401.call.member',
  state_key: `_${user}_${device}_m.call`,
  sender: user,
  origin_server_ts: 1_000,
  content: { application: 'm.call', device_id: device, expires: 3_600_000, foci_preferred: foci },
});

const member = (userId: string, deviceId: string, serviceUrl?: string): CallMember => ({
  userId,
  deviceId,
  createdTs: 0,
  expiresAt: Number.MAX_SAFE_INTEGER,
  serviceUrl,
});

describe('the SFU a membership names', () => {
  it('is the first preferred LiveKit focus, without a trailing slash; junk names none', () => {
    const members = new CallMembers();
    members.take(membership('@a:x', 'A', [{ type: 'livekit', livekit_service_url: 'https://sfu.x/' }]));
    members.take(membership('@b:y', 'B', [{ type: 'other', livekit_service_url: 'https://sfu.y' }]));
    members.take(membership('@c:y', 'C', [{ type: 'livekit', livekit_service_url: 'javascript:alert(1)' }]));
    members.take(membership('@d:y', 'D', 'not a list'));
    const byUser = new Map(members.current(2_000).map((m) => [m.userId, m.serviceUrl]));
    expect(Object.fromEntries(byUser)).toEqual({
      '@a:x': 'https://sfu.x',
      '@b:y': undefined,
      '@c:y': undefined,
      '@d:y': undefined,
    });
  });
});

describe('which SFUs we subscribe on', () => {
  const me = { userId: '@me:x', deviceId: 'ME' };
  it('one per other service, never our own, never for ourselves or members naming none', () => {
    const plan = remoteServices(
      [
        member('@me:x', 'ME', 'https://b.example'),
        member('@a:x', 'A', 'https://ours.example/'),
        member('@b:y', 'B1', 'https://b.example'),
        member('@b:y', 'B2', 'https://b.example'),
        member('@c:z', 'C', 'https://c.example'),
        member('@d:z', 'D'),
      ],
      'https://ours.example/',
      me,
    );
    expect([...plan.keys()]).toEqual(['https://b.example', 'https://c.example']);
    expect(plan.get('https://b.example')?.map((m) => m.deviceId)).toEqual(['B1', 'B2']);
  });

  it('our own transport is the first LiveKit focus of the well-known', () => {
    expect(
      transportFromWellKnown({
        'm.homeserver': { base_url: 'https://hs' },
        'org.matrix.msc4143.rtc_foci': [
          { type: 'nextgen' },
          { type: 'livekit', livekit_service_url: 'https://lk-jwt.b.example/' },
        ],
      }),
    ).toBe('https://lk-jwt.b.example');
    expect(transportFromWellKnown({ 'm.homeserver': {} })).toBeUndefined();
    expect(transportFromWellKnown(null)).toBeUndefined();
    expect(
      transportFromWellKnown({ 'org.matrix.msc4143.rtc_foci': [{ type: 'livekit', livekit_service_url: 'ftp://x' }] }),
    ).toBeUndefined();
  });
});

/** A LiveKit room that connects (or fails) as told, and records what happened. */
class FakeRoom extends EventEmitter {
  connectedTo: string | undefined;
  disconnected = false;
  constructor(private readonly failing: Set<string>) {
    super();
  }
  connect(url: string): Promise<void> {
    if (this.failing.has(url)) return Promise.reject(new Error('unreachable'));
    this.connectedTo = url;
    return Promise.resolve();
  }
  disconnect(): Promise<void> {
    this.disconnected = true;
    return Promise.resolve();
  }
}

type OnData = (identity: string, topic: string | undefined, payload: Uint8Array) => void;

function remote(failing = new Set<string>(), onData: OnData = () => undefined) {
  const rooms: FakeRoom[] = [];
  const tokens: string[] = [];
  const sfus = new RemoteSfus({
    link: { userId: '@me:x', deviceId: 'ME' },
    ownServiceUrl: 'https://ours.example',
    token: (url) => {
      tokens.push(url);
      return Promise.resolve({ url: `wss://lk.${new URL(url).host}`, jwt: 'jwt' });
    },
    createRoom: () => {
      const r = new FakeRoom(failing);
      rooms.push(r);
      return r as unknown as Room;
    },
    watch: () => undefined,
    onChange: vi.fn(),
    onData,
  });
  return { sfus, rooms, tokens };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('connections to the other SFUs', () => {
  it('follow the memberships: one per service, shared, closed when nobody uses it', async () => {
    const { sfus, rooms, tokens } = remote();
    sfus.update([member('@b:y', 'B1', 'https://b.example'), member('@b:y', 'B2', 'https://b.example')]);
    await settle();
    expect(tokens).toEqual(['https://b.example']);
    expect(sfus.rooms()).toHaveLength(1);
    expect(rooms[0]?.connectedTo).toBe('wss://lk.b.example');
    sfus.update([member('@b:y', 'B1', 'https://b.example')]);
    await settle();
    expect(tokens).toHaveLength(1);
    sfus.update([]);
    await settle();
    expect(rooms[0]?.disconnected).toBe(true);
    expect(sfus.rooms()).toHaveLength(0);
    sfus.stop();
  });

  it('a service that fails marks only its members unreachable; the others stay connected', async () => {
    const { sfus } = remote(new Set(['wss://lk.down.example']));
    sfus.update([member('@b:y', 'B', 'https://b.example'), member('@c:z', 'C', 'https://down.example')]);
    await settle();
    await settle();
    expect(sfus.rooms()).toHaveLength(1);
    expect(sfus.unreachable().map((m) => m.userId)).toEqual(['@c:z']);
    sfus.stop();
  });

  it('shows from each SFU only the members whose membership names it, and takes data only from them', async () => {
    const onData = vi.fn<OnData>();
    const { sfus, rooms } = remote(new Set(), onData);
    sfus.update([member('@b:y', 'B', 'https://b.example')]);
    await settle();
    expect(sfus.rooms().map((r) => [...r.identities])).toEqual([['@b:y:B']]);
    const room = rooms[0];
    room?.emit(RoomEvent.DataReceived, new Uint8Array([1]), { identity: '@alice:x:A' }, undefined, 'io.causerie.hand');
    room?.emit(RoomEvent.DataReceived, new Uint8Array([2]), { identity: '@b:y:B' }, undefined, 'io.causerie.hand');
    expect(onData.mock.calls.map((c) => c[0])).toEqual(['@b:y:B']);
    sfus.stop();
  });
});

describe('each device once', () => {
  const facts = (
    identity: string,
    userId: string | undefined,
    deviceId: string | undefined,
    micOn: boolean,
    local = false,
  ) => ({
    identity,
    name: undefined,
    userId,
    deviceId,
    local,
    camera: undefined,
    screen: undefined,
    micOn,
    camOn: false,
    speaking: false,
    quality: 'good',
    handAt: undefined,
    reaction: undefined,
    avatar: undefined,
  });
  it('a device with a second, silent connection (another identity, or another SFU) is shown once, from the one that publishes', () => {
    const out = onePerDevice([
      facts('hashed-id', '@b:y', 'B', false),
      facts('@b:y:B', '@b:y', 'B', true),
      facts('@me:x:ME', '@me:x', 'ME', false, true),
      facts('@me:x:ME#remote', '@me:x', 'ME', true),
      facts('no-attributes-1', undefined, undefined, false),
      facts('no-attributes-2', undefined, undefined, false),
    ]);
    expect(out.map((f) => f.identity)).toEqual(['@b:y:B', '@me:x:ME', 'no-attributes-1', 'no-attributes-2']);
  });

  it('a member whose SFU cannot be reached shows as such rather than as their silent subscription on ours; publishing wins', () => {
    const unreachable = { ...facts('@c:y:C', '@c:y', 'C', false), unreachable: true };
    const out = onePerDevice([facts('@c:y:C', '@c:y', 'C', false), unreachable]);
    expect(out).toEqual([unreachable]);
    const publishing = facts('@c:y:C', '@c:y', 'C', true);
    expect(onePerDevice([unreachable, publishing])).toEqual([publishing]);
  });
});

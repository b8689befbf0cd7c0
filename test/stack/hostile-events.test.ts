/**
 * Room events crafted by an ordinary member, sent through the real homeserver, never wedge the
 * appservice's transaction queue: after each one, a ban made next is applied in LiveKit within a
 * second, and a new room's invite is still accepted by the bot.
 */
import { performance } from 'node:perf_hooks';

import { beforeAll, describe, expect, it } from 'vitest';

import { readRegistration } from '../../config/registration.ts';
import { livekitRoomAlias } from '../../core/livekit-names.ts';
import { connectToCall, livekitApi, roomWithPartner } from '../../scripts/stack/clients/calls.ts';
import { callSuite } from '../harness/suite.ts';
import {
  asUser,
  createRoom,
  eventually,
  inviteAndJoin,
  registerUser,
  waitForMembership,
  type TestUser,
} from '../../scripts/stack/clients/matrix.ts';
import { stackEnv, stackFetch } from '../../scripts/stack/clients/env.ts';

const enc = encodeURIComponent;
const { db, connected } = callSuite();
let alice: TestUser;
let mallory: TestUser;
let roomId: string;

beforeAll(async () => {
  ({ alice, roomId } = await roomWithPartner());
  mallory = await registerUser('a');
  await inviteAndJoin(alice, roomId, mallory);
  await waitForMembership(alice, roomId, mallory.userId, 'join');
  await connectToCall(alice, roomId, connected);
});

/** Sends a raw JSON body (so it can hold what JSON.stringify would never write) as `user`. */
async function sendRaw(user: TestUser, method: 'PUT', path: string, body: string): Promise<string> {
  const res = await stackFetch(`${user.hs.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
    body,
  });
  const text = await res.text();
  // The attack only counts if the homeserver took the event: it is then forwarded to us.
  expect(res.status, `the homeserver accepted the event: ${text.slice(0, 200)}`).toBe(200);
  return (JSON.parse(text) as { event_id: string }).event_id;
}

const state = (type: string, key: string): string =>
  `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(key)}`;
const message = (): string =>
  `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/h${Date.now()}${Math.random()}`;
const member = (): string => state('m.room.member', mallory.userId);
const callMember = (): string =>
  state('org.matrix.msc3401.call.member', `_${mallory.userId}_${mallory.deviceId}_m.call`);

function nested(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

// What the homeserver itself refuses (lone surrogates, floats, display names over 256 characters,
// events over 64 KiB) cannot reach us through it: those are sent straight to the transaction
// endpoint below, as a homeserver of another implementation might.
const cases: [string, () => Promise<string>][] = [
  [
    'a display name holding U+0000',
    () => sendRaw(mallory, 'PUT', member(), '{"membership":"join","displayname":"a\\u0000b"}'),
  ],
  [
    'a 60 KiB string in a call membership',
    () =>
      sendRaw(
        mallory,
        'PUT',
        callMember(),
        JSON.stringify({ device_id: mallory.deviceId, foci_preferred: [{ livekit_service_url: 'é'.repeat(30_000) }] }),
      ),
  ],
  [
    'a display name of the wrong type',
    () => sendRaw(mallory, 'PUT', member(), '{"membership":"join","displayname":{"nested":[1,2,3]}}'),
  ],
  [
    'duplicated keys in the content',
    () => sendRaw(mallory, 'PUT', member(), '{"membership":"join","displayname":"one","displayname":"two\\u0000"}'),
  ],
  [
    'a call membership nested 100 levels deep, with mistyped fields',
    () =>
      sendRaw(
        mallory,
        'PUT',
        callMember(),
        `{"device_id":{"x":1},"expires":"soon","foci_preferred":${nested(100)},"focus_active":${nested(50)}}`,
      ),
  ],
  [
    'a call membership with U+0000 in its device id and an absurd expiry',
    () =>
      sendRaw(
        mallory,
        'PUT',
        callMember(),
        '{"device_id":"D\\u0000EV","expires":9007199254740991,"created_ts":-9007199254740991,"foci_preferred":[{"livekit_service_url":"\\u0000"}]}',
      ),
  ],
  [
    'an MSC3401 m.calls membership listing 1 000 devices',
    () =>
      sendRaw(
        mallory,
        'PUT',
        state('org.matrix.msc3401.call.member', mallory.userId),
        JSON.stringify({
          memberships: Array.from({ length: 1_000 }, (_, i) => ({ device_id: `D${i}`, expires: 9007199254740991 })),
        }),
      ),
  ],
  [
    'an event of an unknown type with bidi overrides and U+0000',
    () =>
      sendRaw(
        mallory,
        'PUT',
        `/_matrix/client/v3/rooms/${enc(roomId)}/send/org.example.weird/w${Date.now()}`,
        '{"a":"\\u0000","b":[null,true,{"c":"\\u202e\\u202e"}],"state_key":{"x":1}}',
      ),
  ],
  [
    'a !call command holding U+0000 and a 60 KiB message',
    async () => {
      await sendRaw(mallory, 'PUT', message(), '{"msgtype":"m.text","body":"!call \\u0000 help"}');
      return sendRaw(
        mallory,
        'PUT',
        message(),
        JSON.stringify({ msgtype: 'm.text', body: `!call ${'x'.repeat(60_000)}` }),
      );
    },
  ],
];

/**
 * The proof a hostile event left the queue working: a member in the call, banned now, is out of
 * LiveKit within a second, and a new room's invite is accepted.
 */
async function banIsAppliedAndInvitesAccepted(prepared: { carol: TestUser; identity: string }): Promise<void> {
  const alias = livekitRoomAlias(roomId);
  const inCall = async (): Promise<boolean> =>
    (await livekitApi().listParticipants(alias)).some((p) => p.identity === prepared.identity);
  const banned = performance.now();
  await asUser(alice, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/ban`, { user_id: prepared.carol.userId });
  const gone = await eventually(
    'carol out of LiveKit',
    async () => ((await inCall()) ? undefined : performance.now()),
    5_000,
  );
  expect(gone - banned).toBeLessThan(1_000);

  const fresh = await createRoom(alice, { name: 'after the hostile event', invite: [stackEnv().appservice.sender] });
  await waitForMembership(alice, fresh, stackEnv().appservice.sender, 'join', 10_000);
}

/** Carol joins the room and the call, to be banned after the hostile event. */
async function carolInCall(): Promise<{ carol: TestUser; identity: string }> {
  const carol = await registerUser('a');
  await inviteAndJoin(alice, roomId, carol);
  await waitForMembership(alice, roomId, carol.userId, 'join');
  await connectToCall(carol, roomId, connected);
  const identity = `${carol.userId}:${carol.deviceId}`;
  expect((await livekitApi().listParticipants(livekitRoomAlias(roomId))).map((p) => p.identity)).toContain(identity);
  return { carol, identity };
}

describe('hostile room events never wedge the transaction queue', () => {
  it.each(cases)(
    '%s: a ban made next is applied within 1 s, and a new room’s invite is accepted',
    async (_what, send) => {
      const prepared = await carolInCall();
      await send();
      await banIsAppliedAndInvitesAccepted(prepared);
    },
  );

  it('stores what PostgreSQL cannot hold as U+FFFD, and skips nothing it could apply', async () => {
    await sendRaw(mallory, 'PUT', member(), '{"membership":"join","displayname":"nul\\u0000here"}');
    const row = await eventually('the display name in room_members', async () => {
      const r = await db.query<{ displayname: string }>(
        'SELECT displayname FROM room_members WHERE room_id = $1 AND user_id = $2',
        [roomId, mallory.userId],
      );
      return r.rows[0]?.displayname.startsWith('nul') === true ? r.rows[0].displayname : undefined;
    });
    expect(row).toBe('nul\uFFFDhere');
  });
});

describe('events the homeserver would not carry, sent straight to the transaction endpoint', () => {
  const hsToken = (): string => readRegistration(stackEnv().appservice.registration).hs_token;
  const put = async (body: string): Promise<number> => {
    const res = await stackFetch(
      `${stackEnv().service.url}/_matrix/app/v1/transactions/raw-${Date.now()}-${Math.random()}`,
      {
        method: 'PUT',
        headers: { authorization: `Bearer ${hsToken()}`, 'content-type': 'application/json' },
        body,
      },
    );
    await res.text();
    return res.status;
  };
  const ev = (over: Record<string, unknown>): string =>
    JSON.stringify({
      type: 'm.room.member',
      room_id: roomId,
      sender: mallory.userId,
      state_key: mallory.userId,
      event_id: `$raw${Math.random()}`,
      origin_server_ts: Date.now(),
      content: { membership: 'join' },
      ...over,
    });

  const raw: [string, () => string][] = [
    [
      'lone surrogates in a display name and a state key',
      () =>
        `{"events":[${ev({}).replace('"join"}', '"join","displayname":"\\ud800x\\udfff"}')}, ${ev({ type: 'org.matrix.msc3401.call.member', state_key: '_\ud800_m.call', content: { device_id: 'X' } })}]}`,
    ],
    [
      'a 64 KiB display name and a 100 KiB state key',
      () =>
        `{"events":[${ev({ content: { membership: 'join', displayname: 'n'.repeat(65_536) } })}, ${ev({ type: 'org.example.x', state_key: 'k'.repeat(100_000) })}]}`,
    ],
    [
      'content nested 5 000 levels deep',
      () => `{"events":[${ev({}).replace('{"membership":"join"}', `{"membership":"join","deep":${nested(5_000)}}`)}]}`,
    ],
    [
      'an event whose content is an array, sender a number, state key an object',
      () =>
        `{"events":[${ev({ content: [1, 2] })}, ${ev({ sender: 42 })}, ${ev({ state_key: { a: 1 } })}, 17, null, "x"]}`,
    ],
    [
      'an unknown membership and a member event for a state key that is no user id',
      () => `{"events":[${ev({ content: { membership: 'boss' } })}, ${ev({ state_key: 'not a user' })}]}`,
    ],
    [
      'power levels as strings, with junk, for a room the bot is in',
      () =>
        `{"events":[${ev({ type: 'm.room.power_levels', state_key: '', sender: alice.userId, content: { users: { [alice.userId]: '100', [mallory.userId]: ' 0 ', junk: { a: [1] } }, users_default: 'x', events: { 'org.matrix.msc3401.call.member': '0' }, extra: nested(200) } })}]}`,
    ],
    ['an events field that is not an array', () => '{"events":{"0":{}}}'],
  ];

  it.each(raw)('%s: acknowledged; then a ban is applied within 1 s and an invite accepted', async (_what, body) => {
    const prepared = await carolInCall();
    const status = await put(body());
    // A transaction is acknowledged (200) — or, when it is not one at all, refused outright (400):
    // either way the homeserver would not re-send it forever.
    expect([200, 400]).toContain(status);
    await banIsAppliedAndInvitesAccepted(prepared);
  });

  it('power levels given as strings are read as numbers and stored decoded', async () => {
    const row = await db.query<{ power_levels: { users: Record<string, unknown>; events: Record<string, unknown> } }>(
      'SELECT power_levels FROM rooms WHERE room_id = $1',
      [roomId],
    );
    const pl = row.rows[0]?.power_levels;
    expect(pl?.users[alice.userId]).toBe(100);
    expect(pl?.users['junk']).toBeUndefined();
    expect(Object.keys(pl ?? {})).not.toContain('extra');
  });
});

/**
 * The moderation endpoint's hostile inputs, through the real HTTP path and the real homeservers and
 * LiveKit: what it refuses, with which Matrix error, and that a refusal does nothing at the SFU.
 */
import { dispose, type Room } from '@livekit/rtc-node';
import { TrackSource } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { livekitRoomAlias } from '../../core/livekit-names.ts';
import { callSuite } from '../harness/suite.ts';
import {
  callRoom,
  connectToCall,
  jwtClaims,
  livekitApi,
  openIdToken,
  postToService,
  sfuGet,
} from '../../scripts/stack/clients/calls.ts';
import {
  asUser,
  eventually,
  inviteAndJoin,
  registerUser,
  waitForMembership,
  type TestUser,
} from '../../scripts/stack/clients/matrix.ts';

const PATH = '/_causerie/v1/moderate';
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let roomId: string;
const connected: Room[] = [];
const { db } = callSuite();
const identity = (u: TestUser): string => `${u.userId}:${u.deviceId}`;

beforeAll(async () => {
  [alice, bob, carol] = await Promise.all([registerUser('a'), registerUser('b'), registerUser('a')]);
  roomId = await callRoom(alice);
  for (const u of [bob, carol]) {
    await inviteAndJoin(alice, roomId, u);
    await waitForMembership(alice, roomId, u.userId, 'join');
  }
  // Carol is a moderator (50), Bob is not; Alice has more power than both.
  const pl = await asUser<Record<string, unknown>>(
    alice,
    'GET',
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.power_levels/`,
  );
  await asUser(alice, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.power_levels/`, {
    ...pl,
    users: { ...(pl['users'] as Record<string, number>), [carol.userId]: 50 },
  });
  for (const u of [alice, bob, carol]) await connectToCall(u, roomId, connected);
});

afterAll(async () => {
  for (const r of connected) await r.disconnect();
  await dispose();
});

const ask = async (user: TestUser, body: Record<string, unknown>) =>
  postToService(PATH, { room_id: roomId, openid_token: await openIdToken(user), ...body });

describe('moderation endpoint', () => {
  it('refuses bodies that are not JSON, an unknown action, a missing target, a bad room id', async () => {
    expect((await postToService(PATH, '{not json', true)).body['errcode']).toBe('M_NOT_JSON');
    expect((await ask(carol, { action: 'ban_everyone' })).body['errcode']).toBe('M_BAD_JSON');
    expect((await ask(carol, { action: 'mute' })).body['errcode']).toBe('M_BAD_JSON');
    const bad = await postToService(PATH, {
      room_id: 'not-a-room',
      openid_token: await openIdToken(carol),
      action: 'mute_all',
    });
    expect(bad.status).toBe(400);
  });

  it('refuses a token its homeserver does not confirm (401) and a user not in the room (403)', async () => {
    const forged = await postToService(PATH, {
      room_id: roomId,
      openid_token: { access_token: 'forged', matrix_server_name: alice.hs.server_name },
      action: 'mute_all',
    });
    expect(forged.status).toBe(401);
    const stranger = await registerUser('b');
    const answer = await ask(stranger, { action: 'mute_all' });
    expect(answer.status).toBe(403);
    expect(answer.body['errcode']).toBe('M_FORBIDDEN');
  });

  it('refuses someone without the power, a target with as much power or more, and someone not in the call; nothing changes at the SFU', async () => {
    const before = await livekitApi().listParticipants(livekitRoomAlias(roomId));
    expect((await ask(bob, { action: 'remove', target: identity(carol) })).status).toBe(403);
    expect((await ask(carol, { action: 'remove', target: identity(alice) })).status).toBe(403);
    expect((await ask(carol, { action: 'mute', target: 'nobody-here' })).status).toBe(403);
    // A moderator cannot be muted by another of the same level, nor themselves counted in mute_all.
    expect((await ask(carol, { action: 'mute', target: identity(carol) })).status).toBe(403);
    const after = await livekitApi().listParticipants(livekitRoomAlias(roomId));
    expect(after.map((p) => p.identity).sort()).toEqual(before.map((p) => p.identity).sort());
  });

  it('a moderator keeps someone muted: their rights at the SFU and their next token leave the microphone out until a moderator allows it', async () => {
    const alias = livekitRoomAlias(roomId);
    const sourcesOf = async (u: TestUser): Promise<TrackSource[]> =>
      (await livekitApi().listParticipants(alias)).find((p) => p.identity === identity(u))?.permission
        ?.canPublishSources ?? [];
    const tokenSources = async (u: TestUser): Promise<unknown> =>
      (jwtClaims((await sfuGet(u, roomId)).body['jwt'] as string)['video'] as Record<string, unknown>)[
        'canPublishSources'
      ];
    expect(await tokenSources(bob)).toBeUndefined();
    const locked = await ask(carol, { action: 'mute', target: identity(bob), source: 'microphone', lock: true });
    expect(locked.status).toBe(200);
    const sources = await sourcesOf(bob);
    const attributesOf = async (u: TestUser): Promise<Record<string, string>> =>
      (await livekitApi().listParticipants(alias)).find((p) => p.identity === identity(u))?.attributes ?? {};
    // Everyone's list shows it: an attribute only the service sets.
    expect((await attributesOf(bob))['causerie.mic_locked']).toBe('1');
    expect(sources).toContain(TrackSource.CAMERA);
    expect(sources).not.toContain(TrackSource.MICROPHONE);
    // Leaving and coming back does not lift it: the next token leaves the microphone out.
    expect(await tokenSources(bob)).toEqual(['camera', 'screen_share', 'screen_share_audio']);
    // Others are not concerned; Bob cannot lift it himself.
    expect(await tokenSources(alice)).toBeUndefined();
    const himself = await ask(bob, { action: 'allow_unmute', target: identity(bob) });
    expect([himself.status, himself.body['reason']]).toEqual([403, 'not_moderator']);
    // A moderator allows it: the rights and the next token have it again.
    expect((await ask(carol, { action: 'allow_unmute', target: identity(bob) })).status).toBe(200);
    expect(await sourcesOf(bob)).toContain(TrackSource.MICROPHONE);
    expect((await attributesOf(bob))['causerie.mic_locked']).toBeUndefined();
    expect(await tokenSources(bob)).toBeUndefined();
    await eventually('the lock and its lifting in the audit trail', async () => {
      const rows = await db.query<{ action: string }>(
        `SELECT detail->>'action' AS action FROM audit_log WHERE action = 'moderation' AND room_id = $1`,
        [roomId],
      );
      const actions = rows.rows.map((r) => r.action);
      return actions.includes('allow_unmute') && actions.includes('mute') ? actions : undefined;
    });
  });

  it('a moderator removes someone with less power from the call', async () => {
    const answer = await ask(carol, { action: 'remove', target: identity(bob) });
    expect(answer.status).toBe(200);
    expect(answer.body['done']).toBe(1);
    const left = await livekitApi().listParticipants(livekitRoomAlias(roomId));
    expect(left.map((p) => p.identity)).not.toContain(identity(bob));
  });

  it('a moderator ends the call for everyone; a second end finds no call', async () => {
    expect((await ask(bob, { action: 'end' })).status).toBe(403);
    const ended = await ask(carol, { action: 'end' });
    expect(ended.status).toBe(200);
    const rooms = await livekitApi().listRooms([livekitRoomAlias(roomId)]);
    expect(rooms).toEqual([]);
    const again = await ask(carol, { action: 'end' });
    expect([again.status, again.body['errcode']]).toEqual([403, 'M_FORBIDDEN']);
  });

  it('the waiting room: letting in or refusing someone who did not knock is refused; the knock status needs a confirmed token', async () => {
    const stranger = await registerUser('b');
    const admit = await ask(carol, { action: 'admit', target: stranger.userId });
    expect([admit.status, admit.body['errcode']]).toEqual([403, 'M_FORBIDDEN']);
    const refuse = await ask(carol, { action: 'refuse', target: bob.userId });
    expect(refuse.status).toBe(403);
    const forged = await postToService('/_causerie/v1/knock_status', {
      room_id: roomId,
      openid_token: { access_token: 'forged', matrix_server_name: stranger.hs.server_name },
    });
    expect(forged.status).toBe(401);
    const member = await postToService('/_causerie/v1/knock_status', {
      room_id: roomId,
      openid_token: await openIdToken(carol),
    });
    expect(member.body).toEqual({ state: 'admitted' });
  });
});

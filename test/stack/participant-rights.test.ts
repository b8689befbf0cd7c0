/**
 * "Identities are ours, not the client's": a participant's token gives it no say over permissions,
 * attributes, names or visibility (its own or anyone's), and who a participant is comes from our
 * record of the grant (`livekit_identities`), never from what LiveKit shows about it.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { AudioSource, LocalAudioTrack, Room, RoomEvent, TrackPublishOptions, TrackSource } from '@livekit/rtc-node';
import { AccessToken, type ParticipantInfo, type VideoGrant } from 'livekit-server-sdk';
import { describe, expect, it } from 'vitest';

import { livekitIdentityForMember, livekitLegacyIdentity, livekitRoomAlias } from '../../core/livekit-names.ts';
import { callRoom, connectToCall, getToken, jwtClaims, livekitApi, sfuGet } from '../../scripts/stack/clients/calls.ts';
import { callSuite } from '../harness/suite.ts';
import {
  asUser,
  eventually,
  inviteAndJoin,
  registerUser,
  waitForMembership,
  type TestUser,
} from '../../scripts/stack/clients/matrix.ts';
import { stackEnv, stackFetch } from '../../scripts/stack/clients/env.ts';

const enc = encodeURIComponent;

const { db, connected } = callSuite();

const livekitHttp = (): string => stackEnv().livekit.url.replace(/^ws/, 'http');

/** A JWT minted with the stack's LiveKit key, as only the token service should. */
function mint(identity: string, grant: VideoGrant, attributes: Record<string, string> = {}): Promise<string> {
  const token = new AccessToken(stackEnv().livekit.api_key, stackEnv().livekit.api_secret, {
    identity,
    attributes,
    ttl: 300,
  });
  token.addGrant(grant);
  return token.toJwt();
}

async function connect(jwt: string): Promise<Room> {
  const room = new Room();
  connected.push(room);
  await room.connect(stackEnv().livekit.url, jwt, { autoSubscribe: false, dynacast: false });
  return room;
}

/** A RoomService call straight to LiveKit's Twirp API with `jwt` as the bearer. */
async function roomService(method: string, jwt: string, body: unknown): Promise<{ status: number; code: unknown }> {
  const res = await stackFetch(`${livekitHttp()}/twirp/livekit.RoomService/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${jwt}` },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as Record<string, unknown>;
  return { status: res.status, code: answer['code'] };
}

const participants = (roomId: string): Promise<ParticipantInfo[]> =>
  livekitApi().listParticipants(livekitRoomAlias(roomId));

async function participant(roomId: string, identity: string): Promise<ParticipantInfo> {
  const p = (await participants(roomId)).find((x) => x.identity === identity);
  if (p === undefined) throw new Error(`${identity} is not in the call`);
  return p;
}

/** What a participant could want to rewrite: who it is, what it may do, whether it is seen. */
const rights = (p: ParticipantInfo): Record<string, unknown> => ({
  name: p.name,
  metadata: p.metadata,
  attributes: p.attributes,
  canPublish: p.permission?.canPublish,
  canSubscribe: p.permission?.canSubscribe,
  canPublishData: p.permission?.canPublishData,
  canUpdateMetadata: p.permission?.canUpdateMetadata,
  hidden: p.permission?.hidden,
});

/**
 * Tries to rewrite the local participant's attributes, metadata and name over its signal
 * connection, then publishes a track: LiveKit handles one participant's signal requests in order
 * and the publication resolves on its answer, so the attempts have been judged when this returns.
 */
async function tryToRewriteSelf(room: Room, claim: string): Promise<void> {
  const local = room.localParticipant;
  if (local === undefined) throw new Error('not connected');
  for (const attempt of [
    () => local.setAttributes({ matrix_user_id: claim }),
    () => local.updateMetadata(JSON.stringify({ matrix_user_id: claim })),
    () => local.updateName(claim),
  ])
    await attempt().catch(() => undefined); // refused loudly or quietly: the server's state tells
  const source = new AudioSource(48_000, 1);
  const track = LocalAudioTrack.createAudioTrack('fence', source);
  await local.publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
}

async function auditRemovals(
  roomId: string,
): Promise<{ user_id: string | null; detail: { identity: string; reason: string } }[]> {
  const r = await db.query<{ user_id: string | null; detail: { identity: string; reason: string } }>(
    "SELECT user_id, detail FROM audit_log WHERE room_id = $1 AND action = 'participant_removed'",
    [roomId],
  );
  return r.rows;
}

/** A room with Alice (A, creator: unlimited power in room v12) and `other` in it, Alice in the call. */
async function callWith(other: TestUser): Promise<{ alice: TestUser; roomId: string; aliceRoom: Room }> {
  const alice = await registerUser('a');
  const roomId = await callRoom(alice);
  await inviteAndJoin(alice, roomId, other);
  await waitForMembership(alice, roomId, other.userId, 'join');
  const aliceRoom = await connectToCall(alice, roomId, connected);
  return { alice, roomId, aliceRoom };
}

describe('participant rights', () => {
  it("a participant cannot change its own or anyone's permissions, attributes or hidden flag with its own token", async () => {
    const carol = await registerUser('a');
    const { alice, roomId, aliceRoom } = await callWith(carol);
    await connectToCall(carol, roomId, connected);
    const alias = livekitRoomAlias(roomId);

    // Alice is the room's creator: the most powerful member there is, still no admin in LiveKit.
    const answer = await sfuGet(alice, roomId);
    expect(answer.status).toBe(200);
    const jwt = answer.body['jwt'] as string;
    const claims = jwtClaims(jwt) as { sub: string; video: VideoGrant };
    expect(claims.video.roomAdmin ?? false).toBe(false);
    expect(claims.video.canUpdateOwnMetadata ?? false).toBe(false);
    expect(claims.video.canPublish).toBe(true);
    const aliceId = livekitLegacyIdentity(alice.userId, alice.deviceId);
    const carolId = livekitLegacyIdentity(carol.userId, carol.deviceId);
    expect(claims.sub).toBe(aliceId);

    const before = {
      alice: rights(await participant(roomId, aliceId)),
      carol: rights(await participant(roomId, carolId)),
    };
    expect(before.alice).toMatchObject({ attributes: { matrix_user_id: alice.userId }, hidden: false });
    expect(before.carol).toMatchObject({ attributes: { matrix_user_id: carol.userId }, hidden: false });

    const rewrite = (identity: string): Record<string, unknown> => ({
      room: alias,
      identity,
      permission: { canPublish: true, canSubscribe: true, canPublishData: true, hidden: true },
      attributes: { matrix_user_id: '@someone:else' },
      name: 'someone else',
    });
    // LiveKit answers 401 {"code":"unauthenticated","msg":"permissions denied"} to a token without roomAdmin.
    const refused = { status: 401, code: 'unauthenticated' };
    expect(await roomService('UpdateParticipant', jwt, rewrite(aliceId))).toEqual(refused);
    expect(await roomService('UpdateParticipant', jwt, rewrite(carolId))).toEqual(refused);
    expect(await roomService('RemoveParticipant', jwt, { room: alias, identity: carolId })).toEqual(refused);
    expect(
      await roomService('MutePublishedTrack', jwt, {
        room: alias,
        identity: carolId,
        track_sid: 'TR_any',
        muted: true,
      }),
    ).toEqual(refused);

    // Over its own signal connection (the one connectToCall opened with a token like `jwt`).
    await tryToRewriteSelf(aliceRoom, '@someone:else');

    const after = await participants(roomId);
    expect(after.map((p) => p.identity).sort()).toEqual([aliceId, carolId].sort());
    const aliceAfter = await participant(roomId, aliceId);
    expect(rights(aliceAfter)).toEqual(before.alice);
    expect(rights(await participant(roomId, carolId))).toEqual(before.carol);

    // The same requests do take effect with the rights the token service no longer grants: the
    // checks above would have caught a token with roomAdmin or canUpdateOwnMetadata.
    const admin = await mint(`test-admin-${randomBytes(4).toString('hex')}`, { room: alias, roomAdmin: true });
    expect((await roomService('UpdateParticipant', admin, rewrite(carolId))).status).toBe(200);
    expect(rights(await participant(roomId, carolId))).toMatchObject({
      attributes: { matrix_user_id: '@someone:else' },
      name: 'someone else',
      hidden: true,
    });
    // A LiveKit room no Matrix room maps to, so the service leaves this participant alone.
    const elsewhere = `test-control-${randomBytes(4).toString('hex')}`;
    await livekitApi().createRoom({ name: elsewhere, emptyTimeout: 60 });
    const selfEditor = await connect(
      await mint(`test-self-editor-${randomBytes(4).toString('hex')}`, {
        room: elsewhere,
        roomJoin: true,
        canPublish: true,
        canSubscribe: true,
        canUpdateOwnMetadata: true,
      }),
    );
    await tryToRewriteSelf(selfEditor, '@someone:else');
    const [edited] = await livekitApi().listParticipants(elsewhere);
    expect(edited === undefined ? undefined : rights(edited)).toMatchObject({
      attributes: { matrix_user_id: '@someone:else' },
      name: '@someone:else',
    });
    await selfEditor.disconnect();
    await livekitApi().deleteRoom(elsewhere);
  });

  it('revocation follows our record of the grant, not what the participant claims', async () => {
    const bob = await registerUser('b');
    const { alice, roomId } = await callWith(bob);
    const alias = livekitRoomAlias(roomId);
    const aliceId = livekitLegacyIdentity(alice.userId, alice.deviceId);

    const answer = await eventually('a token for Bob', async () => {
      const a = await getToken(bob, roomId, 'member-bob');
      return a.status === 200 ? a : undefined;
    });
    const bobId = livekitIdentityForMember(bob.userId, bob.deviceId, 'member-bob');
    expect(jwtClaims(answer.body['jwt'] as string)['sub']).toBe(bobId);
    const recorded = await db.query<Record<string, unknown>>(
      'SELECT livekit_room, identity, room_id, user_id, device_id FROM livekit_identities WHERE identity = $1',
      [bobId],
    );
    expect(recorded.rows).toEqual([
      { livekit_room: alias, identity: bobId, room_id: roomId, user_id: bob.userId, device_id: bob.deviceId },
    ]);

    const bobRoom = await connect(answer.body['jwt'] as string);
    const disconnected = new Promise<void>((resolve) => {
      bobRoom.once(RoomEvent.Disconnected, () => {
        resolve();
      });
    });
    // Bob claims to be Alice. His own token cannot say so; write it with the server key, as a
    // participant holding roomAdmin (what moderators used to get) could have done.
    await tryToRewriteSelf(bobRoom, alice.userId);
    expect((await participant(roomId, bobId)).attributes['matrix_user_id']).toBe(bob.userId);
    await livekitApi().updateParticipant(alias, bobId, {
      attributes: { matrix_user_id: alice.userId, matrix_device_id: alice.deviceId },
      name: 'Alice',
    });
    expect((await participant(roomId, bobId)).attributes['matrix_user_id']).toBe(alice.userId);

    const banned = performance.now();
    await asUser(alice, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/ban`, { user_id: bob.userId });
    const gone = await eventually(
      'Bob to leave LiveKit',
      async () => ((await participants(roomId)).some((p) => p.identity === bobId) ? undefined : performance.now()),
      5_000,
    );
    expect(gone - banned).toBeLessThan(1_000);
    await disconnected;
    expect((await participants(roomId)).map((p) => p.identity)).toEqual([aliceId]);

    const removals = await eventually('the removal in the audit log', async () => {
      const rows = await auditRemovals(roomId);
      return rows.length > 0 ? rows : undefined;
    });
    expect(removals.map((r) => [r.user_id, r.detail.identity, r.detail.reason])).toEqual([
      [bob.userId, bobId, 'banned'],
    ]);
  });

  it.each([
    ['an arbitrary name', (_alice: TestUser) => `intruder-${randomBytes(4).toString('hex')}`],
    [
      'the shape of a member’s <user>:<device> identity',
      (alice: TestUser) => `${alice.userId}:FAKE${randomBytes(3).toString('hex')}`,
    ],
  ])('a participant connected with an identity we never granted (%s) is removed', async (_what, makeId) => {
    const carol = await registerUser('a');
    const { alice, roomId } = await callWith(carol);
    const alias = livekitRoomAlias(roomId);
    const aliceId = livekitLegacyIdentity(alice.userId, alice.deviceId);

    // A token the token service never issued (a leaked key, another service on the same LiveKit),
    // for Alice's call, pretending to be Alice.
    const intruderId = makeId(alice);
    const jwt = await mint(
      intruderId,
      { room: alias, roomJoin: true, canPublish: true, canSubscribe: true },
      { matrix_user_id: alice.userId, matrix_device_id: alice.deviceId },
    );
    const intruder = new Room();
    connected.push(intruder);
    const removed = new Promise<void>((resolve) => {
      intruder.once(RoomEvent.Disconnected, () => {
        resolve();
      });
    });
    await intruder.connect(stackEnv().livekit.url, jwt, { autoSubscribe: false, dynacast: false });

    // The sweep would find it within 30 s; the participant_joined webhook must act at once.
    const rows = await eventually(
      'the intruder removed by the participant_joined webhook',
      async () => {
        // (A sweep passing at that moment may add a `sweep_unknown_identity` row of its own.)
        const audit = (await auditRemovals(roomId)).filter(
          (r) => r.detail.identity === intruderId && r.detail.reason === 'unknown_identity',
        );
        const present = (await participants(roomId)).some((p) => p.identity === intruderId);
        return audit.length > 0 && !present ? audit : undefined;
      },
      5_000,
    );
    expect(rows).toEqual([{ user_id: null, detail: { identity: intruderId, reason: 'unknown_identity' } }]);
    await removed;
    expect((await participants(roomId)).map((p) => p.identity)).toEqual([aliceId]);
    const granted = await db.query('SELECT 1 FROM livekit_identities WHERE livekit_room = $1 AND identity = $2', [
      alias,
      intruderId,
    ]);
    expect(granted.rows).toEqual([]);
  });
});

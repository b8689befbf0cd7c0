/**
 * Homeserver B's own deployment in the stack (issue: calls across two deployments): a LiveKit and a
 * token service of B's, as a partner running Element Call has. Its token service verifies OpenID
 * tokens with the users' own homeservers and mints tokens for B's SFU only; B's users start calls
 * there, ours join running ones; our LiveKit never hears of those rooms.
 */
import { describe, expect, it } from 'vitest';

import { livekitRoomAlias } from '../../core/livekit-names.ts';
import { callSuite } from '../harness/suite.ts';
import {
  connectToCall,
  jwtClaims,
  livekitApi,
  partnerLivekitApi,
  roomWithPartner,
  sfuGet,
} from '../../scripts/stack/clients/calls.ts';
import { homeserver, stackEnv, stackFetch } from '../../scripts/stack/clients/env.ts';
import { createRoom, registerUser } from '../../scripts/stack/clients/matrix.ts';
import { Room } from '@livekit/rtc-node';

const { connected } = callSuite();
const partner = () => stackEnv().partner;

describe('the partner deployment (homeserver B’s own LiveKit and token service)', () => {
  it('B’s users start calls on B’s SFU through B’s token service; A’s users join them there; our SFU is not involved', async () => {
    const [bob, alice] = await Promise.all([registerUser('b'), registerUser('a')]);
    const roomId = await createRoom(bob);
    const answer = await sfuGet(bob, roomId, {}, partner().service_url);
    expect(answer.status).toBe(200);
    expect(answer.body['url']).toBe(partner().livekit_url);
    const alias = livekitRoomAlias(roomId);
    expect((jwtClaims(answer.body['jwt'] as string)['video'] as Record<string, unknown>)['room']).toBe(alias);
    const room = new Room();
    await room.connect(answer.body['url'] as string, answer.body['jwt'] as string, {
      autoSubscribe: false,
      dynacast: false,
    });
    connected.push(room);
    expect((await partnerLivekitApi().listParticipants(alias)).map((p) => p.identity)).toEqual([
      `${bob.userId}:${bob.deviceId}`,
    ]);
    // Alice (A) joins B's running call with a token from B's service, verified with her own homeserver.
    const joined = await sfuGet(alice, roomId, {}, partner().service_url);
    expect(joined.status).toBe(200);
    expect(joined.body['url']).toBe(partner().livekit_url);
    // Our LiveKit has no such room.
    expect(await livekitApi().listRooms([alias])).toEqual([]);
  });

  it('our token service serves B’s members in a call spanning both SFUs: a token for our SFU to subscribe (and publish, per remote_users), never a call start', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    const alias = livekitRoomAlias(roomId);
    // Bob's call on B's SFU: his page would subscribe on ours only once someone publishes there.
    // Before that, our service starts nothing for him.
    const early = await sfuGet(bob, roomId);
    expect([early.status, early.body['reason']]).toEqual([403, 'call_not_started']);
    expect(await livekitApi().listRooms([alias])).toEqual([]);

    // Alice (A) publishes on ours: Bob gets a token for our SFU, in the same LiveKit room.
    await connectToCall(alice, roomId, connected);
    const answer = await sfuGet(bob, roomId);
    expect(answer.status).toBe(200);
    expect(answer.body['url']).toBe(stackEnv().livekit.url);
    const video = jwtClaims(answer.body['jwt'] as string)['video'] as Record<string, unknown>;
    expect(video).toMatchObject({ room: alias, roomJoin: true, canSubscribe: true, canPublish: true });
    expect(video['roomCreate']).not.toBe(true);
  });

  it('in the single-SFU layout B names no transport; the stack says where B’s deployment is', async () => {
    const wellKnown = (await (await stackFetch(`${homeserver('b').url}/.well-known/matrix/client`)).json()) as Record<
      string,
      unknown
    >;
    expect(partner().advertised).toBe(false);
    expect(wellKnown['org.matrix.msc4143.rtc_foci']).toBeUndefined();
    expect((await stackFetch(`${partner().service_url}/healthz`)).status).toBe(200);
  });
});

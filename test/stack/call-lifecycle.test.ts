import { createHash } from 'node:crypto';

import { dispose, Room } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

import {
  botMessages,
  botNotice,
  callMembership,
  callRoom,
  connectToCall,
  livekitApi,
  roomWithPartner,
  say,
  waitForCallWidget,
} from '../../scripts/stack/clients/calls.ts';
import { livekitRoomAlias } from '../../core/livekit-names.ts';
import { asUser, eventually, registerUser } from '../../scripts/stack/clients/matrix.ts';
import { stackEnv, stackFetch } from '../../scripts/stack/clients/env.ts';

const enc = encodeURIComponent;
const connected: Room[] = [];

afterAll(async () => {
  for (const r of connected) await r.disconnect().catch(() => undefined);
  await dispose();
});

describe('call lifecycle', () => {
  it('!call in a room with a partner on B: the widget reaches B over federation, a notice is posted, the end posts duration and participants', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    await say(alice, roomId, '!call');

    const widget = await waitForCallWidget<{ type: string; url: string; name: string; data: { roomId: string } }>(
      bob,
      roomId,
    );
    expect(widget.name).toBe('Causerie');
    expect(widget.data.roomId).toBe(roomId);
    expect(widget.url).toMatch(
      /^http:\/\/127\.0\.0\.1:8480\/widget\/\?roomId=\$matrix_room_id&userId=\$matrix_user_id/,
    );
    expect(await botNotice(bob, roomId, /Call started by Alice Martin/)).toMatch(/^📞 Appel démarré par Alice Martin/);

    // A second !call points to the running one.
    await say(bob, roomId, '!call');
    expect(await botNotice(alice, roomId, /has been running since/)).toMatch(/^Un appel est déjà en cours/);

    await connectToCall(alice, roomId, connected);
    await connectToCall(bob, roomId, connected);
    // Bob is not a moderator: he cannot end it for everyone.
    await say(bob, roomId, '!call end');
    await botNotice(alice, roomId, /Only moderators/);

    await say(alice, roomId, '!call end');
    const ended = await botNotice(bob, roomId, /Call ended/);
    expect(ended).toMatch(/duration \d+ s; participants: Alice Martin, /);
    expect(ended).toContain(bob.userId.slice(1, bob.userId.indexOf(':')));
    await eventually(
      'everyone disconnected',
      () => Promise.resolve(connected.slice(-2).every((r) => !r.isConnected) ? true : undefined),
      5_000,
    );
  });

  it('a call started by joining LiveKit directly (as Element Call does, no !call) gets its start and end notices, once each', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    // Alice (full access) gets a token: the LiveKit room is created; she and then Bob connect.
    await connectToCall(alice, roomId, connected);
    await connectToCall(bob, roomId, connected);
    expect(await botNotice(bob, roomId, /Call started by Alice Martin/)).toMatch(/^📞 Appel démarré par Alice Martin/);
    // The call ends in LiveKit (closed there, as when everyone has left).
    await livekitApi().deleteRoom(livekitRoomAlias(roomId));
    await botNotice(alice, roomId, /Call ended/);
    const fromBot = await botMessages(alice, roomId);
    expect(fromBot.filter((b) => b.includes('Call started by'))).toHaveLength(1);
    expect(fromBot.filter((b) => b.includes('Call ended'))).toHaveLength(1);
  });

  it('!call help answers in French and English', async () => {
    const alice = await registerUser('a');
    const roomId = await callRoom(alice);
    await say(alice, roomId, '!call help');
    const help = await botNotice(alice, roomId, /Commands:/);
    expect(help).toMatch(/^Commandes :/);
  });

  it('removes a MatrixRTC membership that outlived its LiveKit participant (a closed tab)', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    await connectToCall(alice, roomId, connected);
    const { stateKey, path, content } = callMembership(bob, roomId);
    await asUser(bob, 'PUT', path, content);
    const bobRoom = await connectToCall(bob, roomId, connected);
    // The tab "crashes": the LiveKit connection goes, the membership state stays.
    await bobRoom.disconnect();
    const cleared = await eventually(
      'the stale membership to be cleared',
      async () => {
        const content = await asUser<Record<string, unknown>>(
          alice,
          'GET',
          `/_matrix/client/v3/rooms/${enc(roomId)}/state/org.matrix.msc3401.call.member/${enc(stateKey)}`,
        );
        return Object.keys(content).length === 0 ? content : undefined;
      },
      15_000,
    );
    expect(cleared).toEqual({});
  });
});

describe('LiveKit webhooks', () => {
  const post = (body: string, authorization?: string) =>
    stackFetch(`${stackEnv().service.url}/livekit/webhook`, {
      method: 'POST',
      headers: {
        'content-type': 'application/webhook+json',
        ...(authorization === undefined ? {} : { authorization }),
      },
      body,
    });
  const body = JSON.stringify({ event: 'room_finished', room: { name: 'x' }, id: 'EV_fake', createdAt: '1' });

  it('refuses an unsigned webhook (401)', async () => {
    expect((await post(body)).status).toBe(401);
  });

  it('refuses a webhook signed with another secret (401)', async () => {
    const token = new AccessToken(stackEnv().livekit.api_key, 'another-secret-another-secret-another', { ttl: 60 });
    token.sha256 = 'bm90IHRoZSBib2R5';
    expect((await post(body, await token.toJwt())).status).toBe(401);
  });

  /** Signs a body as LiveKit does: a JWT with our key whose sha256 claim covers the raw bytes. */
  const sign = async (raw: string, hashOf = raw): Promise<string> => {
    const token = new AccessToken(stackEnv().livekit.api_key, stackEnv().livekit.api_secret, { ttl: 60 });
    token.sha256 = createHash('sha256').update(hashOf).digest('base64');
    return token.toJwt();
  };

  it('refuses a correctly signed JWT whose hash does not cover the body it came with (401)', async () => {
    const other = JSON.stringify({ event: 'room_finished', room: { name: 'y' }, id: 'EV_other', createdAt: '1' });
    expect((await post(body, await sign(body, other))).status).toBe(401);
  });

  it('refuses a signed body over 1 MiB (413) and handles a replayed id once', async () => {
    const huge = JSON.stringify({ event: 'room_started', room: { name: 'z'.repeat(1_100_000) }, id: 'EV_big' });
    expect((await post(huge, await sign(huge))).status).toBe(413);
    const id = `EV_replay_${Date.now()}`;
    const replay = JSON.stringify({ event: 'room_started', room: { name: 'unknown-room' }, id, createdAt: '1' });
    const jwt = await sign(replay);
    expect((await post(replay, jwt)).status).toBe(200);
    expect((await post(replay, jwt)).status).toBe(200);
    const db = new pg.Client({ connectionString: stackEnv().postgres.url });
    await db.connect();
    try {
      const rows = await db.query('SELECT 1 FROM livekit_webhook_events WHERE event_id = $1', [id]);
      expect(rows.rows).toHaveLength(1);
    } finally {
      await db.end();
    }
  });
});

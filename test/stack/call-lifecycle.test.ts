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

describe('a call spanning two deployments (members on the partner’s SFU)', () => {
  it('is announced from a membership naming the partner’s SFU, goes on when our SFU closes its room, and its summary names everyone', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    const partnerService = stackEnv().partner.service_url;
    const bobs = callMembership(bob, roomId);
    const onPartner = {
      ...bobs.content,
      foci_preferred: [{ type: 'livekit', livekit_service_url: partnerService, livekit_alias: roomId }],
    };
    // Bob starts the call on his own deployment: nobody is on our SFU.
    await asUser(bob, 'PUT', bobs.path, onPartner);
    const bobName = bob.userId.slice(1, bob.userId.indexOf(':'));
    expect(await botNotice(alice, roomId, /Call started by/)).toContain(bobName);

    // Alice joins on our SFU, then our SFU closes its room (she left): Bob is still in the call.
    const alices = callMembership(alice, roomId);
    await asUser(alice, 'PUT', alices.path, alices.content);
    const lk = await connectToCall(alice, roomId, connected);
    const alias = livekitRoomAlias(roomId);
    await eventually('Alice counted in the call', async () => {
      const rows = await dbRows<{ identity: string }>(
        `SELECT p.identity FROM call_participants p JOIN calls c USING (call_id)
         WHERE c.room_id = $1 AND c.ended_at IS NULL AND p.left_at IS NULL`,
        [roomId],
      );
      return rows.length === 2 ? rows : undefined;
    });
    await lk.disconnect();
    await asUser(alice, 'PUT', alices.path, {});
    await livekitApi().deleteRoom(alias);
    // The room_finished webhook has come and gone (well past the end grace of 3 s): still running.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const running = await dbRows('SELECT 1 FROM calls WHERE room_id = $1 AND ended_at IS NULL', [roomId]);
    expect(running).toHaveLength(1);
    expect((await botMessages(alice, roomId)).filter((b) => b.includes('Call ended'))).toHaveLength(0);

    // Bob leaves: after the grace period the call ends, with both named.
    await asUser(bob, 'PUT', bobs.path, {});
    const ended = await botNotice(alice, roomId, /Call ended/);
    // In order of arrival: Bob (on the partner's SFU) first.
    expect(ended).toContain(`participants: ${bobName}, Alice Martin.`);
    expect((await botMessages(alice, roomId)).filter((b) => b.includes('Call started by'))).toHaveLength(1);
  });

  it('an expired membership naming another SFU starts nothing; a member leaving the room leaves its call, though the membership stays', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    const bobs = callMembership(bob, roomId);
    const foci = [{ type: 'livekit', livekit_service_url: stackEnv().partner.service_url, livekit_alias: roomId }];
    await asUser(bob, 'PUT', bobs.path, {
      ...bobs.content,
      created_ts: Date.now() - 20_000,
      expires: 10_000,
      foci_preferred: foci,
    });
    // A marker after it: once the bot has answered it, the membership has been read.
    await say(alice, roomId, '!call end');
    await botNotice(alice, roomId, /No call is running/);
    expect(await dbRows('SELECT 1 FROM calls WHERE room_id = $1', [roomId])).toHaveLength(0);

    await asUser(bob, 'PUT', bobs.path, { ...bobs.content, foci_preferred: foci });
    await botNotice(alice, roomId, /Call started by/);
    await asUser(bob, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {});
    expect(await botNotice(alice, roomId, /Call ended/)).toContain(bob.userId.slice(1, bob.userId.indexOf(':')));
  });
});

async function dbRows<T = unknown>(sql: string, params: unknown[]): Promise<T[]> {
  const db = new pg.Client({ connectionString: stackEnv().postgres.url });
  await db.connect();
  try {
    return (await db.query(sql, params)).rows as T[];
  } finally {
    await db.end();
  }
}

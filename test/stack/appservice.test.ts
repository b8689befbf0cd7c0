import { performance } from 'node:perf_hooks';

import { Room, RoomEvent } from '@livekit/rtc-node';
import { describe, expect, it } from 'vitest';

import { readRegistration } from '../../config/registration.ts';
import { livekitRoomAlias } from '../../core/livekit-names.ts';
import { callRoom, connectToCall, livekitApi, sfuGet } from '../../scripts/stack/clients/calls.ts';
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

const identities = async (roomId: string): Promise<string[]> =>
  (await livekitApi().listParticipants(livekitRoomAlias(roomId))).map((p) => p.identity);

/** A room with Alice (A, creator) and Bob (B) in it, Alice already in the call. */
async function callWithPartner(): Promise<{ alice: TestUser; bob: TestUser; roomId: string }> {
  const [alice, bob] = await Promise.all([registerUser('a'), registerUser('b')]);
  const roomId = await callRoom(alice);
  await inviteAndJoin(alice, roomId, bob);
  await waitForMembership(alice, roomId, bob.userId, 'join');
  await connectToCall(alice, roomId, connected);
  return { alice, bob, roomId };
}

describe('revocation', () => {
  it('a partner on B in the call is removed from LiveKit within a second of being banned, and refused a new token', async () => {
    const { alice, bob, roomId } = await callWithPartner();
    const bobToken = await eventually('a token for Bob', async () => {
      const a = await sfuGet(bob, roomId);
      return a.status === 200 ? a : undefined;
    });
    const bobJwt = bobToken.body['jwt'] as string;
    const bobRoom = new Room();
    connected.push(bobRoom);
    await bobRoom.connect(bobToken.body['url'] as string, bobJwt, { autoSubscribe: false, dynacast: false });
    const bobIdentity = `${bob.userId}:${bob.deviceId}`;
    expect(await identities(roomId)).toContain(bobIdentity);
    const disconnected = new Promise<number>((resolve) => {
      bobRoom.once(RoomEvent.Disconnected, () => {
        resolve(performance.now());
      });
    });

    const banned = performance.now();
    await asUser(alice, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/ban`, { user_id: bob.userId, reason: 'test' });
    const gone = await eventually(
      'bob to leave LiveKit',
      async () => ((await identities(roomId)).includes(bobIdentity) ? undefined : performance.now()),
      5_000,
    );
    const elapsed = gone - banned;
    expect(elapsed).toBeLessThan(1_000);
    await disconnected;
    expect((await sfuGet(bob, roomId)).status).toBe(403);

    const rows = await eventually('the removal in the audit log', async () => {
      const r = await db.query<{ detail: { reason: string; latency_ms: number } }>(
        "SELECT detail FROM audit_log WHERE room_id = $1 AND action = 'participant_removed' AND user_id = $2",
        [roomId, bob.userId],
      );
      return r.rows.length > 0 ? r.rows : undefined;
    });
    expect(rows.map((r) => r.detail.reason)).toEqual(['banned']);

    // His token is still valid in LiveKit's eyes: reconnecting with it gets him removed again.
    const stale = new Room();
    connected.push(stale);
    await stale
      .connect(bobToken.body['url'] as string, bobJwt, { autoSubscribe: false, dynacast: false })
      .catch(() => undefined);
    await eventually(
      'Bob removed again',
      async () => ((await identities(roomId)).includes(bobIdentity) ? undefined : true),
      5_000,
    );
    await eventually('the reconnection in the audit log', async () => {
      const r = await db.query<{ detail: { reason: string } }>(
        "SELECT detail FROM audit_log WHERE room_id = $1 AND action = 'participant_removed' AND user_id = $2",
        [roomId, bob.userId],
      );
      return r.rows.some((x) => x.detail.reason === 'reconnected_after_ban') ? true : undefined;
    });
  });

  it('a local member who is kicked is removed from LiveKit', async () => {
    const { alice, roomId } = await callWithPartner();
    const carol = await registerUser('a');
    await inviteAndJoin(alice, roomId, carol);
    await waitForMembership(alice, roomId, carol.userId, 'join');
    await connectToCall(carol, roomId, connected);
    const carolIdentity = `${carol.userId}:${carol.deviceId}`;
    expect(await identities(roomId)).toContain(carolIdentity);
    await asUser(alice, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { user_id: carol.userId });
    await eventually(
      'carol to leave LiveKit',
      async () => ((await identities(roomId)).includes(carolIdentity) ? undefined : true),
      5_000,
    );
    expect(await identities(roomId)).toContain(`${alice.userId}:${alice.deviceId}`);
  });

  it('a member whose power drops below the call level loses publish rights in LiveKit', async () => {
    const { alice, bob, roomId } = await callWithPartner();
    const pl = await asUser<Record<string, unknown>>(
      alice,
      'GET',
      `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`,
    );
    const events = { ...(pl['events'] as Record<string, number>), 'org.matrix.msc3401.call.member': 10 };
    const users = { ...(pl['users'] as Record<string, number>), [bob.userId]: 10 };
    await asUser(alice, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`, {
      ...pl,
      events,
      users,
    });
    await eventually('bob to have power 10 in our view', async () =>
      (await sfuGet(bob, roomId)).status === 200 ? true : undefined,
    );
    await connectToCall(bob, roomId, connected);
    const bobIdentity = `${bob.userId}:${bob.deviceId}`;
    const before = (await livekitApi().listParticipants(livekitRoomAlias(roomId))).find(
      (p) => p.identity === bobIdentity,
    );
    expect(before?.permission?.canPublish).toBe(true);

    await asUser(alice, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`, {
      ...pl,
      events,
      users: { ...users, [bob.userId]: 0 },
    });
    await eventually(
      'bob’s publish permission to be revoked',
      async () => {
        const p = (await livekitApi().listParticipants(livekitRoomAlias(roomId))).find(
          (x) => x.identity === bobIdentity,
        );
        return p?.permission?.canPublish === false ? true : undefined;
      },
      5_000,
    );
    expect(await identities(roomId)).toContain(bobIdentity);
  });
});

describe('room state in the database', () => {
  it('keeps the members, power levels and room version the bot sees', async () => {
    const { alice, bob, roomId } = await callWithPartner();
    const room = await eventually('the room row', async () => {
      const r = await db.query<{ room_version: string; creators: string[] }>(
        'SELECT room_version, creators FROM rooms WHERE room_id = $1',
        [roomId],
      );
      return r.rows[0];
    });
    expect(room.creators).toEqual([alice.userId]);
    const members = await eventually('bob in room_members', async () => {
      const r = await db.query<{ user_id: string; membership: string }>(
        'SELECT user_id, membership FROM room_members WHERE room_id = $1',
        [roomId],
      );
      return r.rows.some((m) => m.user_id === bob.userId && m.membership === 'join') ? r.rows : undefined;
    });
    expect(members).toEqual(
      expect.arrayContaining([
        { user_id: alice.userId, membership: 'join' },
        { user_id: stackEnv().appservice.sender, membership: 'join' },
      ]),
    );
  });
});

describe('appservice transactions', () => {
  const txnUrl = (id: string): string => `${stackEnv().service.url}/_matrix/app/v1/transactions/${id}`;
  const hsToken = (): string => readRegistration(stackEnv().appservice.registration).hs_token;

  async function put(id: string, body: unknown, token: string | undefined): Promise<number> {
    const res = await stackFetch(txnUrl(id), {
      method: 'PUT',
      headers: {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify(body),
    });
    return res.status;
  }

  async function membershipRow(roomId: string, userId: string): Promise<string | undefined> {
    const r = await db.query<{ membership: string }>(
      'SELECT membership FROM room_members WHERE room_id = $1 AND user_id = $2',
      [roomId, userId],
    );
    return r.rows[0]?.membership;
  }

  const leaveEvent = (roomId: string, userId: string) => ({
    type: 'm.room.member',
    state_key: userId,
    sender: userId,
    room_id: roomId,
    event_id: `$synthetic-${Date.now()}`,
    content: { membership: 'leave' },
    origin_server_ts: Date.now(),
  });

  it('a transaction with a wrong or missing hs_token is refused and changes nothing', async () => {
    const { bob, roomId } = await callWithPartner();
    await eventually('bob joined in our copy', async () =>
      (await membershipRow(roomId, bob.userId)) === 'join' ? true : undefined,
    );
    const id = `t-wrong-${Date.now()}`;
    expect(await put(id, { events: [leaveEvent(roomId, bob.userId)] }, 'not-the-hs-token')).toBe(403);
    expect(await put(id, { events: [leaveEvent(roomId, bob.userId)] }, undefined)).toBe(401);
    expect(await membershipRow(roomId, bob.userId)).toBe('join');
    const seen = await db.query('SELECT 1 FROM appservice_transactions WHERE txn_id = $1', [id]);
    expect(seen.rows).toEqual([]);
  });

  it('the same transaction id twice is processed once', async () => {
    const { bob, roomId } = await callWithPartner();
    await eventually('bob joined in our copy', async () =>
      (await membershipRow(roomId, bob.userId)) === 'join' ? true : undefined,
    );
    const id = `t-replay-${Date.now()}`;
    expect(await put(id, { events: [leaveEvent(roomId, bob.userId)] }, hsToken())).toBe(200);
    expect(await membershipRow(roomId, bob.userId)).toBe('leave');
    // Put the row back; a replay must not process the transaction again.
    await db.query("UPDATE room_members SET membership = 'join' WHERE room_id = $1 AND user_id = $2", [
      roomId,
      bob.userId,
    ]);
    expect(await put(id, { events: [leaveEvent(roomId, bob.userId)] }, hsToken())).toBe(200);
    expect(await membershipRow(roomId, bob.userId)).toBe('join');
  });

  it('an event listing one device twice (MSC3401 m.calls shape) does not stall the transaction queue', async () => {
    const { bob, roomId } = await callWithPartner();
    await eventually('bob joined in our copy', async () =>
      (await membershipRow(roomId, bob.userId)) === 'join' ? true : undefined,
    );
    const dup = {
      type: 'org.matrix.msc3401.call.member',
      state_key: bob.userId,
      sender: bob.userId,
      room_id: roomId,
      event_id: `$dup-${Date.now()}`,
      origin_server_ts: Date.now(),
      content: {
        memberships: [
          { device_id: 'A', expires: 3600000 },
          { device_id: 'A', expires: 3600000 },
        ],
      },
    };
    expect(await put(`t-dup-${Date.now()}`, { events: [dup] }, hsToken())).toBe(200);
    const rows = await db.query('SELECT device_id FROM rtc_memberships WHERE room_id = $1 AND state_key = $2', [
      roomId,
      bob.userId,
    ]);
    expect(rows.rows).toEqual([{ device_id: 'A' }]);
    // The queue moves on: the next transaction is processed.
    expect(await put(`t-after-${Date.now()}`, { events: [leaveEvent(roomId, bob.userId)] }, hsToken())).toBe(200);
    expect(await membershipRow(roomId, bob.userId)).toBe('leave');
  });

  it('an invite the homeserver then refuses to honour (bot join forbidden) is acknowledged, not retried forever', async () => {
    const alice = await registerUser('a');
    const { room_id: roomId } = await asUser<{ room_id: string }>(alice, 'POST', '/_matrix/client/v3/createRoom', {
      preset: 'private_chat',
    });
    const invite = {
      type: 'm.room.member',
      state_key: stackEnv().appservice.sender,
      sender: alice.userId,
      room_id: roomId,
      event_id: `$inv-${Date.now()}`,
      origin_server_ts: Date.now(),
      content: { membership: 'invite' },
    };
    // The bot was never really invited: its join is refused (403), a definite answer.
    expect(await put(`t-refused-${Date.now()}`, { events: [invite] }, hsToken())).toBe(200);
  });

  it('answers the homeserver’s ping', async () => {
    const res = await stackFetch(`${stackEnv().service.url}/_matrix/app/v1/ping`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hsToken()}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(200);
  });
});

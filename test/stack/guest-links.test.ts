/**
 * Guest links through the real HTTP path, homeservers and LiveKit: who may make them, what an
 * expired, revoked, used, tampered or forged link gets (a reason, and no account), what a guest's
 * session may and may not do on the homeserver, and that revoking a link takes its guest out of
 * LiveKit and the room and closes the account.
 */
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import { GuestLinkSigner } from '../../core/guest-links.ts';
import { livekitRoomAlias } from '../../core/livekit-names.ts';
import { callSuite } from '../harness/suite.ts';
import {
  callRoom,
  knockRoom,
  connectToCall,
  livekitApi,
  openIdToken,
  postToService,
  say,
  sfuGet,
} from '../../scripts/stack/clients/calls.ts';
import { homeserver, stackEnv, stackFetch } from '../../scripts/stack/clients/env.ts';
import {
  asUser,
  createRoom,
  eventually,
  inviteAndJoin,
  MatrixError,
  membership,
  registerUser,
  waitForMembership,
  type TestUser,
} from '../../scripts/stack/clients/matrix.ts';

const { db, connected } = callSuite();
const enc = encodeURIComponent;
const service = (): string => stackEnv().service.url;

const LINKS = '/_causerie/v1/guest_links';
const CHECK = '/_causerie/v1/guest/check';
const REDEEM = '/_causerie/v1/guest/redeem';

/** The link from a guest-link URL (`…/widget/#guest=<link>&lang=…`). */
const linkOf = (url: string): string => new URLSearchParams(new URL(url).hash.slice(1)).get('guest') ?? '';

async function createLink(
  user: TestUser,
  roomId: string,
  extra: Record<string, unknown> = {},
): Promise<{ status: number; body: Record<string, unknown>; link: string }> {
  const answer = await postToService(LINKS, { room_id: roomId, openid_token: await openIdToken(user), ...extra });
  return { ...answer, link: typeof answer.body['url'] === 'string' ? linkOf(answer.body['url']) : '' };
}

/** The guest's page as a client: its session through the gateway, in place of a Matrix token. */
function guestClient(session: Record<string, unknown>): TestUser {
  return {
    userId: session['user_id'] as string,
    deviceId: session['device_id'] as string,
    accessToken: session['session'] as string,
    password: '',
    hs: { ...homeserver('a'), url: `${service()}/_causerie/v1/guest/client` },
  };
}

const guestRows = async (linkId: string): Promise<number> =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM guests WHERE link_id = $1', [linkId])).rows[0]?.n ??
  -1;

/** Whether an account is closed: the appservice can no longer log it in. */
async function deactivated(userId: string): Promise<boolean> {
  const registration = parseYaml(readFileSync(stackEnv().appservice.registration, 'utf8')) as { as_token: string };
  const res = await stackFetch(`${homeserver('a').url}/_matrix/client/v3/login`, {
    method: 'POST',
    headers: { authorization: `Bearer ${registration.as_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'm.login.application_service',
      identifier: { type: 'm.id.user', user: userId.slice(1).split(':')[0] },
    }),
  });
  const body = (await res.json()) as { errcode?: string };
  return body.errcode === 'M_USER_DEACTIVATED';
}

describe('guest links: who may make them', () => {
  it('refuses a stranger, a member without the invite level, a bad expiry, and a waiting-room link in a room without knocking', async () => {
    const [alice, bob, stranger] = await Promise.all([registerUser('a'), registerUser('b'), registerUser('a')]);
    const roomId = await callRoom(alice);
    await inviteAndJoin(alice, roomId, bob);
    await waitForMembership(alice, roomId, bob.userId, 'join');
    // Invites need 50 here: Bob (0) may not make links.
    const pl = await asUser<Record<string, unknown>>(
      alice,
      'GET',
      `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`,
    );
    await asUser(alice, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`, {
      ...pl,
      invite: 50,
      users: { ...(pl['users'] as Record<string, number>), [stackEnv().appservice.sender]: 50 },
    });
    await eventually('the bot to see the new invite level', async () => {
      const a = await createLink(bob, roomId, { admit: true });
      return a.body['reason'] === 'cannot_invite' ? a : undefined;
    });
    const strangers = await createLink(stranger, roomId, { admit: true });
    expect([strangers.status, strangers.body['reason']]).toEqual([403, 'not_member']);
    const tooLong = await createLink(alice, roomId, { admit: true, expires_in: 365 * 86_400 });
    expect([tooLong.status, tooLong.body['errcode'], tooLong.body['reason']]).toEqual([
      400,
      'M_INVALID_PARAM',
      'bad_expiry',
    ]);
    const noWaitingRoom = await createLink(alice, roomId, { admit: false });
    expect([noWaitingRoom.status, noWaitingRoom.body['reason']]).toEqual([400, 'no_waiting_room']);
    expect((await postToService(LINKS, '{"room_id":', true)).body['errcode']).toBe('M_NOT_JSON');
    const ok = await createLink(alice, roomId, { admit: true, single_use: true });
    expect(ok.status).toBe(200);
    expect(ok.body['url']).toMatch(/\/widget\/#guest=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}&lang=en$/);
    // Only a hash of the link is stored.
    const rows = await db.query<{ link_hash: string }>('SELECT link_hash FROM guest_links WHERE link_id = $1', [
      ok.body['link_id'],
    ]);
    expect(rows.rows[0]?.link_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows.rows)).not.toContain(ok.link.split('.')[1]);
  });
});

describe('guest links: refused links make no account', () => {
  it('tampered, forged, expired, revoked and used-up links are refused with their reason; no account is made', async () => {
    const alice = await registerUser('a');
    const roomId = await callRoom(alice);
    const made = await createLink(alice, roomId, { admit: true, single_use: true });
    const linkId = made.body['link_id'] as string;
    expect((await postToService(CHECK, { link: made.link })).status).toBe(200);

    const refusal = async (link: string): Promise<unknown[]> => {
      const check = await postToService(CHECK, { link });
      const redeem = await postToService(REDEEM, { link, name: 'Eve' });
      expect(check.body['reason']).toBe(redeem.body['reason']);
      return [redeem.status, redeem.body['errcode'], redeem.body['reason']];
    };
    // Tampered: the payload changed (another room), the mac kept.
    const [payload, mac] = made.link.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>;
    const otherRoom = Buffer.from(JSON.stringify({ ...claims, r: '!other:localhost:8481' })).toString('base64url');
    expect(await refusal(`${otherRoom}.${mac}`)).toEqual([403, 'M_FORBIDDEN', 'guest_link_invalid']);
    // A later expiry, the mac kept.
    const later = Buffer.from(JSON.stringify({ ...claims, e: Number(claims['e']) + 86_400 })).toString('base64url');
    expect(await refusal(`${later}.${mac}`)).toEqual([403, 'M_FORBIDDEN', 'guest_link_invalid']);
    // Forged: signed with a key that is not the service's.
    const forged = new GuestLinkSigner('not the service secret').sign({
      linkId,
      roomId,
      expiresAt: Number(claims['e']),
    });
    expect(await refusal(forged)).toEqual([403, 'M_FORBIDDEN', 'guest_link_invalid']);
    expect(await refusal('garbage')).toEqual([403, 'M_FORBIDDEN', 'guest_link_invalid']);
    // Expired: signed by the service (its key) for a time past; and a real link past its expiry.
    const registration = parseYaml(readFileSync(stackEnv().appservice.registration, 'utf8')) as { as_token: string };
    const past = new GuestLinkSigner(registration.as_token).sign({
      linkId,
      roomId,
      expiresAt: Math.floor(Date.now() / 1000) - 60,
    });
    expect(await refusal(past)).toEqual([403, 'M_FORBIDDEN', 'guest_link_expired']);
    expect(await guestRows(linkId)).toBe(0);

    // Used: a single-use link redeemed by two pages at once makes one account.
    const both = await Promise.all([
      postToService(REDEEM, { link: made.link, name: 'Eve' }),
      postToService(REDEEM, { link: made.link, name: 'Mallory' }),
    ]);
    expect(both.map((a) => a.status).sort()).toEqual([200, 403]);
    expect(both.find((a) => a.status === 403)?.body['reason']).toBe('guest_link_used');
    expect(await refusal(made.link)).toEqual([403, 'M_FORBIDDEN', 'guest_link_used']);
    expect(await guestRows(linkId)).toBe(1);

    // Revoked.
    const second = await createLink(alice, roomId, { admit: true });
    const revoked = await postToService('/_causerie/v1/guest_links/revoke', {
      room_id: roomId,
      openid_token: await openIdToken(alice),
      link_id: second.body['link_id'],
    });
    expect(revoked.status).toBe(200);
    expect(await refusal(second.link)).toEqual([403, 'M_FORBIDDEN', 'guest_link_revoked']);
    expect(await guestRows(second.body['link_id'] as string)).toBe(0);

    // Every refusal is in the audit trail, with its reason.
    await eventually('the refusals in the audit trail', async () => {
      const r = await db.query<{ reason: string }>(
        `SELECT detail->>'reason' AS reason FROM audit_log WHERE action = 'guest_link_refused' AND room_id = $1`,
        [roomId],
      );
      const reasons = new Set(r.rows.map((x) => x.reason));
      return ['guest_link_expired', 'guest_link_used', 'guest_link_revoked'].every((x) => reasons.has(x))
        ? reasons
        : undefined;
    });
  });

  it('a name with nothing to show is refused (no account); the display name carries the guest suffix', async () => {
    const alice = await registerUser('a');
    const roomId = await callRoom(alice);
    const made = await createLink(alice, roomId, { admit: true, lang: 'fr' });
    const blank = await postToService(REDEEM, { link: made.link, name: ' \u202e\u200b ', lang: 'fr' });
    expect([blank.status, blank.body['reason']]).toEqual([400, 'bad_name']);
    expect(await guestRows(made.body['link_id'] as string)).toBe(0);
    const ok = await postToService(REDEEM, { link: made.link, name: 'Zoé \u202eLefèvre', lang: 'fr' });
    expect(ok.status).toBe(200);
    const profile = await asUser<{ displayname: string }>(
      alice,
      'GET',
      `/_matrix/client/v3/profile/${enc(ok.body['user_id'] as string)}`,
    );
    expect(profile.displayname).toBe('Zoé Lefèvre (invité)');
  });
});

describe('guest sessions', () => {
  it('a guest takes part in the call of its room and nothing else: no other room, no invite, no start, no moderation, no profile change', async () => {
    const alice = await registerUser('a');
    const roomId = await callRoom(alice);
    const elsewhere = await createRoom(alice, { preset: 'public_chat', name: 'another room' });
    const made = await createLink(alice, roomId, { admit: true });
    const redeemed = await postToService(REDEEM, { link: made.link, name: 'Gaston' });
    expect(redeemed.status).toBe(200);
    const guest = guestClient(redeemed.body);
    expect(guest.userId).toMatch(/^@causerie_guest_[0-9a-f]+:localhost:8481$/);

    // Let in directly: invited, and joins through the gateway.
    await asUser(guest, 'POST', `/_matrix/client/v3/join/${enc(roomId)}`, {});
    await waitForMembership(alice, roomId, guest.userId, 'join');
    // No call runs yet, and a guest may not start one.
    const noCall = await sfuGet(guest, roomId);
    expect([noCall.status, noCall.body['reason']]).toEqual([403, 'call_not_started']);

    const refused = async (method: string, path: string, body?: unknown): Promise<unknown> => {
      try {
        await asUser(guest, method, path, body);
        return 'allowed';
      } catch (err) {
        return (err as MatrixError).errcode;
      }
    };
    expect(await refused('POST', `/_matrix/client/v3/join/${enc(elsewhere)}`, {})).toBe('M_FORBIDDEN');
    expect(await refused('POST', '/_matrix/client/v3/createRoom', {})).toBe('M_FORBIDDEN');
    expect(await refused('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: alice.userId })).toBe(
      'M_FORBIDDEN',
    );
    expect(
      await refused('PUT', `/_matrix/client/v3/profile/${enc(guest.userId)}/displayname`, { displayname: 'Alice' }),
    ).toBe('M_FORBIDDEN');
    expect(
      await refused('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(guest.userId)}`, {
        membership: 'join',
        displayname: 'Alice',
      }),
    ).toBe('M_FORBIDDEN');
    expect(
      await refused('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t1`, {
        msgtype: 'm.text',
        body: 'spam',
      }),
    ).toBe('M_FORBIDDEN');
    // Someone else's call membership.
    const foreign = `_${alice.userId}_${alice.deviceId}_m.call`;
    expect(
      await refused(
        'PUT',
        `/_matrix/client/v3/rooms/${enc(roomId)}/state/org.matrix.msc3401.call.member/${enc(foreign)}`,
        {},
      ),
    ).toBe('M_FORBIDDEN');
    // Masquerading parameters are dropped: the request is the guest's own.
    const who = await asUser<{ user_id: string }>(
      guest,
      'GET',
      `/_matrix/client/v3/account/whoami?user_id=${enc(alice.userId)}`,
    );
    expect(who.user_id).toBe(guest.userId);
    // A session that is not one: 401 as for a logged-out client.
    const unknown = await stackFetch(`${service()}/_causerie/v1/guest/client/_matrix/client/v3/account/whoami`, {
      headers: { authorization: 'Bearer notasessionnotasessionnot' },
    });
    expect(unknown.status).toBe(401);

    // Alice starts the call; the guest may join it (its own membership) and may not moderate or make links.
    await say(alice, roomId, '!call');
    const own = `_${guest.userId}_${guest.deviceId}_m.call`;
    expect(
      await refused(
        'PUT',
        `/_matrix/client/v3/rooms/${enc(roomId)}/state/org.matrix.msc3401.call.member/${enc(own)}`,
        {},
      ),
    ).toBe('allowed');
    await connectToCall(alice, roomId, connected);
    await connectToCall(guest, roomId, connected);
    const moderate = await postToService('/_causerie/v1/moderate', {
      room_id: roomId,
      openid_token: await openIdToken(guest),
      action: 'mute_all',
    });
    expect([moderate.status, moderate.body['reason']]).toEqual([403, 'guest']);
    const links = await createLink(guest, roomId, { admit: true });
    expect([links.status, links.body['reason']]).toEqual([403, 'guest']);
  });

  it('revoking a link ends its guest: out of LiveKit and the room, the session refused, the account closed', async () => {
    const alice = await registerUser('a');
    const roomId = await callRoom(alice);
    await say(alice, roomId, '!call');
    await connectToCall(alice, roomId, connected);
    const made = await createLink(alice, roomId, { admit: true });
    const guest = guestClient((await postToService(REDEEM, { link: made.link, name: 'Gaston' })).body);
    await asUser(guest, 'POST', `/_matrix/client/v3/join/${enc(roomId)}`, {});
    await waitForMembership(alice, roomId, guest.userId, 'join');
    const room = await connectToCall(guest, roomId, connected);
    const identity = room.localParticipant?.identity ?? '';
    const alias = livekitRoomAlias(roomId);
    const inCall = async (): Promise<boolean> =>
      (await livekitApi().listParticipants(alias)).some((p) => p.identity === identity);
    expect(await inCall()).toBe(true);

    const revoked = await postToService('/_causerie/v1/guest_links/revoke', {
      room_id: roomId,
      openid_token: await openIdToken(alice),
      link_id: made.body['link_id'],
    });
    expect(revoked.body).toEqual({ revoked: true, guests_removed: 1 });
    // Ended before the answer: out of LiveKit, out of the room, the session closed.
    expect(await inCall()).toBe(false);
    expect(await membership(alice, roomId, guest.userId)).toBe('leave');
    await expect(asUser(guest, 'GET', '/_matrix/client/v3/account/whoami')).rejects.toMatchObject({ status: 401 });
    expect(await deactivated(guest.userId)).toBe(true);
    await eventually('the end in the audit trail', async () => {
      const r = await db.query<{ reason: string }>(
        `SELECT detail->>'reason' AS reason FROM audit_log WHERE action = 'guest_ended' AND user_id = $1`,
        [guest.userId],
      );
      return r.rows[0]?.reason === 'revoked' ? true : undefined;
    });
  });

  it('a guest from a waiting-room link knocks; a moderator lets them in through the waiting room', async () => {
    const alice = await registerUser('a');
    const roomId = await knockRoom(alice);
    const made = await createLink(alice, roomId);
    expect(made.status).toBe(200);
    const redeemed = await postToService(REDEEM, { link: made.link, name: 'Gaston' });
    expect(redeemed.body['admitted']).toBe(false);
    const guest = guestClient(redeemed.body);
    await expect(asUser(guest, 'POST', `/_matrix/client/v3/join/${enc(roomId)}`, {})).rejects.toMatchObject({
      status: 403,
    });
    await asUser(guest, 'POST', `/_matrix/client/v3/knock/${enc(roomId)}`, { reason: 'Asks to join the call' });
    await waitForMembership(alice, roomId, guest.userId, 'knock');
    // The bot sees the knock when its transaction arrives: until then the knock is not answerable.
    const admitted = await eventually('the knock answered', async () => {
      const a = await postToService('/_causerie/v1/moderate', {
        room_id: roomId,
        openid_token: await openIdToken(alice),
        action: 'admit',
        target: guest.userId,
      });
      return a.status === 200 ? a : undefined;
    });
    expect(admitted.body['done']).toBe(1);
    await waitForMembership(alice, roomId, guest.userId, 'invite');
    await asUser(guest, 'POST', `/_matrix/client/v3/join/${enc(roomId)}`, {});
    await waitForMembership(alice, roomId, guest.userId, 'join');
  });
});

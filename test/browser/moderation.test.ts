/**
 * Moderation in a call, across homeservers: Alice (A, the room's creator) moderates Bob (B) from
 * the participant list of her widget. The service acts on LiveKit (server-side mute, removal) and
 * tells Bob who did it; Bob, without the power, is refused (403) and the refusal is audited.
 */
import { dispose, type Room } from '@livekit/rtc-node';
import { TrackType } from 'livekit-server-sdk';
import pg from 'pg';
import type { Frame } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';

import { livekitRoomAlias } from '../../core/livekit-names.ts';
import { axeViolations } from '../../scripts/stack/clients/browser.ts';
import {
  connectToCall,
  inviteAndJoin,
  livekitApi,
  openIdToken,
  postToService,
  roomWithPartner,
  say,
  waitForCallWidget,
} from '../../scripts/stack/clients/calls.ts';
import { stackEnv } from '../../scripts/stack/clients/env.ts';
import { asUser, eventually, registerUser, type TestUser } from '../../scripts/stack/clients/matrix.ts';
import { elementCallFrame, elementCallSeesVideoOf } from '../../scripts/stack/clients/element-call.ts';
import { elementCallUrl } from '../../scripts/stack/element-call.ts';
import { browserPages, facts, ours, oursSeesAndHears } from './pages.ts';

const pages = browserPages();
const enc = encodeURIComponent;
const connected: Room[] = [];
afterAll(async () => {
  for (const r of connected) await r.disconnect();
  await dispose();
});

async function audit(roomId: string): Promise<{ action: string; user_id: string; detail: Record<string, unknown> }[]> {
  const client = new pg.Client({ connectionString: stackEnv().postgres.url });
  await client.connect();
  try {
    const r = await client.query<{ action: string; user_id: string; detail: Record<string, unknown> }>(
      "SELECT action, user_id, detail FROM audit_log WHERE room_id = $1 AND action LIKE 'moderation%' ORDER BY id",
      [roomId],
    );
    return r.rows;
  } finally {
    await client.end();
  }
}

/** Bob's microphone (or camera) as LiveKit has it: muted or not. */
async function bobTrackMuted(roomId: string, bob: TestUser, type: TrackType): Promise<boolean | undefined> {
  const p = (await livekitApi().listParticipants(livekitRoomAlias(roomId))).find((x) =>
    x.identity.startsWith(bob.userId),
  );
  return p?.tracks.find((t) => t.type === type)?.muted;
}

/** Alice (A, the room's creator) in the call from the room's widget; Bob (B) named, not yet in it. */
async function aliceInCallWithBob(): Promise<{ alice: TestUser; bob: TestUser; roomId: string; a: Frame }> {
  const { alice, bob, roomId } = await roomWithPartner();
  await asUser(bob, 'PUT', `/_matrix/client/v3/profile/${enc(bob.userId)}/displayname`, {
    displayname: 'Bob Partenaire',
  });
  await say(alice, roomId, '!call');
  await waitForCallWidget(bob, roomId);
  const a = await ours(await pages.hostPage(alice, roomId));
  await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
  return { alice, bob, roomId, a };
}

describe('moderation in a call', () => {
  it('a moderator keeps a partner muted: he cannot turn the microphone back on until she allows it; then he can', async () => {
    const { bob, roomId, a } = await aliceInCallWithBob();
    const b = await ours(await pages.hostPage(bob, roomId));
    await b.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    await oursSeesAndHears(a, bob);
    await a.getByRole('button', { name: 'Show participants' }).click();
    await a.getByRole('button', { name: 'Keep Bob Partenaire’s microphone off' }).click({ timeout: 10_000 });
    await b
      .getByText('Alice Martin turned off your microphone. You can turn it back on when a moderator allows it.')
      .waitFor({ timeout: 10_000 });
    const locked = b.getByRole('button', { name: 'Microphone off by a moderator' });
    await locked.waitFor({ timeout: 10_000 });
    expect(await locked.isDisabled()).toBe(true);
    expect(await bobTrackMuted(roomId, bob, TrackType.AUDIO)).not.toBe(false);
    expect(await axeViolations(b)).toEqual([]);
    // Alice allows it; Bob is told and turns his microphone on: live at the SFU.
    await a.getByRole('button', { name: 'Allow Bob Partenaire to turn their microphone back on' }).click({
      timeout: 30_000,
    });
    await b.getByText('Alice Martin allowed you to turn your microphone back on.').waitFor({ timeout: 10_000 });
    await b.getByRole('button', { name: 'Unmute microphone' }).click({ timeout: 10_000 });
    await eventually('Bob’s microphone live at the SFU again', async () =>
      (await bobTrackMuted(roomId, bob, TrackType.AUDIO)) === false ? true : undefined,
    );
  });

  it('a moderator on A mutes a partner on B (microphone at the SFU, the partner told by whom), lowers his hand, mutes everyone, removes him; the partner’s own attempt is refused and audited', async () => {
    const { alice, bob, roomId, a } = await aliceInCallWithBob();
    const b = await ours(await pages.hostPage(bob, roomId));
    await b.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    await oursSeesAndHears(a, bob);
    await eventually('Bob’s microphone live at the SFU', async () =>
      (await bobTrackMuted(roomId, bob, TrackType.AUDIO)) === false ? true : undefined,
    );

    // Alice mutes Bob's microphone from the participant list.
    await a.getByRole('button', { name: 'Show participants' }).click();
    await a.getByRole('button', { name: 'Mute Bob Partenaire’s microphone' }).click({ timeout: 10_000 });
    await eventually('Bob’s microphone muted at the SFU', async () =>
      (await bobTrackMuted(roomId, bob, TrackType.AUDIO)) === true ? true : undefined,
    );
    await b.getByText('Alice Martin turned off your microphone.').waitFor({ timeout: 10_000 });
    await b.getByRole('button', { name: 'Unmute microphone' }).waitFor({ timeout: 10_000 });
    expect(await axeViolations(a)).toEqual([]);

    // Bob has no moderation buttons, and the service refuses him when he asks anyway.
    await b.getByRole('button', { name: 'Show participants' }).click();
    expect(await b.getByRole('button', { name: /Mute Alice|Remove Alice|Mute everyone/ }).count()).toBe(0);
    const aliceIdentity = `${alice.userId}:${alice.deviceId}`;
    const refused = await postToService('/_causerie/v1/moderate', {
      room_id: roomId,
      openid_token: await openIdToken(bob),
      action: 'mute',
      target: aliceIdentity,
    });
    expect(refused.status).toBe(403);
    expect(refused.body['errcode']).toBe('M_FORBIDDEN');

    // A participant cannot pass for the service: "you were muted" on the service's topic, sent by
    // Carol (a member in the call), changes nothing on Alice's side.
    const carol = await registerUser('a');
    await inviteAndJoin(alice, roomId, carol);
    const carolRoom = await connectToCall(carol, roomId, connected);
    await carolRoom.localParticipant?.publishData(
      new TextEncoder().encode(JSON.stringify({ action: 'muted', source: 'camera', by: carol.userId })),
      { reliable: true, topic: 'io.causerie.moderation' },
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await a.getByText('turned off your camera').count()).toBe(0);
    expect(await a.getByRole('button', { name: 'Turn camera off' }).count()).toBe(1);

    // Bob raises his hand; Alice lowers it.
    await b.getByRole('button', { name: 'Raise hand' }).click();
    await a.getByRole('button', { name: 'Lower Bob Partenaire’s hand' }).click({ timeout: 10_000 });
    await b.getByRole('button', { name: 'Raise hand' }).waitFor({ timeout: 10_000 });
    await eventually('Bob’s hand down on Alice’s side', async () =>
      (await facts(a)).videos.find((v) => v.remote && v.user === bob.userId && v.hand === ''),
    );

    // Bob unmutes himself; Alice mutes everyone.
    await b.getByRole('button', { name: 'Dismiss' }).first().click();
    await b.getByRole('button', { name: 'Unmute microphone' }).click();
    await eventually('Bob’s microphone live again', async () =>
      (await bobTrackMuted(roomId, bob, TrackType.AUDIO)) === false ? true : undefined,
    );
    await a.getByRole('button', { name: 'Mute everyone' }).click();
    await eventually('everyone muted', async () =>
      (await bobTrackMuted(roomId, bob, TrackType.AUDIO)) === true ? true : undefined,
    );

    // Alice removes Bob from the call.
    await a.getByRole('button', { name: 'Remove Bob Partenaire from the call' }).click();
    await b.getByText('You were removed from the call.').waitFor({ timeout: 10_000 });
    await b.getByText('Alice Martin removed you from the call.').waitFor({ timeout: 10_000 });
    await eventually('Bob gone from LiveKit', async () =>
      (await livekitApi().listParticipants(livekitRoomAlias(roomId))).some((p) => p.identity.startsWith(bob.userId))
        ? undefined
        : true,
    );

    // Alice ends the call for everyone, as `!call end` does.
    await a.getByRole('button', { name: 'End the call for everyone' }).click();
    await a.getByText('The call has ended.').waitFor({ timeout: 15_000 });
    await a.getByText('Alice Martin ended the call.').waitFor({ timeout: 10_000 });

    // All of it in the audit log: Alice's actions, Bob's refusal.
    const actions = async (): Promise<unknown[]> =>
      (await audit(roomId))
        .filter((r) => r.action === 'moderation' && r.user_id === alice.userId)
        .map((r) => r.detail['action']);
    // The call's end reaches everyone before the request returns: its row may come a moment later.
    await eventually('Alice’s five actions audited', async () => ((await actions()).length === 5 ? true : undefined));
    expect(await actions()).toEqual(['mute', 'lower_hand', 'mute_all', 'remove', 'end']);
    const rows = await audit(roomId);
    const refusals = rows.filter((r) => r.action === 'moderation_refused');
    expect(refusals.map((r) => [r.user_id, r.detail['reason']])).toEqual([[bob.userId, 'not_moderator']]);
  });

  it('works on an Element Call user on our SFU: muted at the SFU, then removed from the call', async () => {
    const { bob, roomId, a } = await aliceInCallWithBob();
    const b = await elementCallFrame(
      await pages.hostPage(bob, roomId, { callApp: { app: 'element-call', url: elementCallUrl } }),
    );
    await b.getByRole('button', { name: 'Join call' }).click({ timeout: 30_000 });
    await oursSeesAndHears(a, bob);
    await elementCallSeesVideoOf(b, 'Alice Martin');

    await a.getByRole('button', { name: 'Show participants' }).click();
    await a.getByRole('button', { name: 'Mute Bob Partenaire’s microphone' }).click({ timeout: 10_000 });
    await eventually('Element Call’s microphone muted at the SFU', async () =>
      (await bobTrackMuted(roomId, bob, TrackType.AUDIO)) === true ? true : undefined,
    );
    await a.getByRole('button', { name: 'Remove Bob Partenaire from the call' }).click();
    await eventually('Element Call’s user gone from LiveKit', async () =>
      (await livekitApi().listParticipants(livekitRoomAlias(roomId))).some((p) => p.identity.startsWith(bob.userId))
        ? undefined
        : true,
    );
  });
});

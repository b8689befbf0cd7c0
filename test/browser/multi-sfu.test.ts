/**
 * One call across two deployments (MatrixRTC multi-SFU), in the browser: homeserver B names its own
 * SFU (the stack's two-SFU layout, switched on for this file), so Bob on B publishes on B's LiveKit
 * through B's token service, Alice on A on ours; each widget subscribes on the other's SFU with a
 * token from that SFU's service. Each decodes the other's video and hears the other's audio; each
 * LiveKit carries one publisher.
 */
import type { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { livekitRoomAlias } from '../../core/livekit-names.ts';
import {
  livekitApi,
  partnerLivekitApi,
  publishersOn,
  roomWithPartner,
  say,
  sfuGet,
  waitForCallWidget,
} from '../../scripts/stack/clients/calls.ts';
import { stackEnv } from '../../scripts/stack/clients/env.ts';
import { asUser, eventually, type TestUser } from '../../scripts/stack/clients/matrix.ts';
import { up } from '../../scripts/stack/index.ts';
import { elementCallFrame, elementCallSeesVideoOf } from '../../scripts/stack/clients/element-call.ts';
import { elementCallUrl } from '../../scripts/stack/element-call.ts';
import { signalPart } from '../harness/faults.ts';
import { browserPages, ours, oursSeesAndHears } from './pages.ts';

const pages = browserPages();
/** LiveKit's Encryption.Type for frame-level AES-GCM (the call's media keys). */
const GCM = 1;

/** The two-SFU layout for this file only: Synapse B restarts naming its own deployment, and back. */
beforeAll(async () => {
  process.env['CAUSERIE_STACK_SFU'] = 'two';
  await up();
}, 120_000);
afterAll(async () => {
  delete process.env['CAUSERIE_STACK_SFU'];
  await up();
}, 120_000);

describe('a call across two deployments', () => {
  it('Alice (A, our SFU) and Bob (B, B’s own SFU) each decode the other’s video and hear the other’s audio; each SFU carries one publisher; Bob banned leaves our SFU within a second', async () => {
    expect(stackEnv().partner.advertised).toBe(true);
    const { alice, bob, roomId } = await roomWithPartner();
    await say(alice, roomId, '!call');
    await waitForCallWidget(bob, roomId);
    const a = await ours(await pages.hostPage(alice, roomId));
    await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    // Bob's page reads his homeserver's well-known (self-signed on the stack).
    const b = await ours(await pages.hostPage(bob, roomId, { options: { ignoreHTTPSErrors: true } }));
    await b.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });

    await oursSeesAndHears(a, bob, 45_000);
    await oursSeesAndHears(b, alice, 45_000);
    const user = (u: TestUser): string => u.userId;
    await eventually('one publisher on each SFU', async () => {
      const [ours_, theirs] = await Promise.all([
        publishersOn(livekitApi(), roomId),
        publishersOn(partnerLivekitApi(), roomId),
      ]);
      return ours_.join() === user(alice) && theirs.join() === user(bob) ? true : undefined;
    });

    // Bob banned in the room: his subscription on our SFU ends within a second, and our token
    // service refuses him. (His own SFU is his deployment's: what it does is not ours to decide.)
    const onOurs = async (): Promise<boolean> =>
      (await livekitApi().listParticipants(livekitRoomAlias(roomId))).some((p) =>
        p.identity.startsWith(`${bob.userId}:`),
      );
    expect(await onOurs()).toBe(true);
    const bannedAt = Date.now();
    await asUser(alice, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/ban`, {
      user_id: bob.userId,
      reason: 'test',
    });
    const gone = await eventually('Bob out of our SFU', async () => ((await onOurs()) ? undefined : Date.now()));
    expect(gone - bannedAt).toBeLessThan(1_000);
    expect((await sfuGet(bob, roomId)).status).toBe(403);
  });

  it('the same with the real Element Call on B, publishing on B’s SFU: each sees and hears the other', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    await say(alice, roomId, '!call');
    await waitForCallWidget(bob, roomId);
    const a = await ours(await pages.hostPage(alice, roomId));
    await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    const b = await elementCallFrame(
      await pages.hostPage(bob, roomId, {
        callApp: { app: 'element-call', url: elementCallUrl },
        options: { ignoreHTTPSErrors: true },
      }),
    );
    await b.getByRole('button', { name: 'Join call' }).click({ timeout: 30_000 });
    await eventually(
      'Element Call publishing on B’s SFU',
      async () => ((await publishersOn(partnerLivekitApi(), roomId)).includes(bob.userId) ? true : undefined),
      45_000,
    );
    await oursSeesAndHears(a, bob, 45_000);
    await elementCallSeesVideoOf(b, 'Alice Martin');
    expect(await publishersOn(livekitApi(), roomId)).toEqual([alice.userId]);
  });

  it('in an encrypted room: both SFUs carry only encrypted media, each page decrypts the other’s with the call’s keys; the list says who moderates whom', async () => {
    const { alice, bob, roomId } = await roomWithPartner({ encrypted: true });
    await asUser(bob, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(bob.userId)}/displayname`, {
      displayname: 'Bob Partenaire',
    });
    await say(alice, roomId, '!call');
    await waitForCallWidget(bob, roomId);
    const a = await ours(await pages.hostPage(alice, roomId));
    await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    const b = await ours(await pages.hostPage(bob, roomId, { options: { ignoreHTTPSErrors: true } }));
    await b.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });

    await oursSeesAndHears(a, bob, 45_000);
    await oursSeesAndHears(b, alice, 45_000);
    const encryptions = async (client: RoomServiceClient, user: TestUser): Promise<number[]> =>
      (await client.listParticipants(livekitRoomAlias(roomId)))
        .filter((p) => p.identity.startsWith(`${user.userId}:`))
        .flatMap((p) => p.tracks.map((t) => t.encryption as number));
    // Camera and microphone on each SFU, each encrypted with the call's keys.
    expect(await encryptions(partnerLivekitApi(), bob)).toEqual([GCM, GCM]);
    expect(await encryptions(livekitApi(), alice)).toEqual([GCM, GCM]);

    // Alice moderates the room, but Bob publishes on B's SFU: his entry says so, and offers nothing
    // the room's service could not do.
    await a.getByRole('button', { name: 'Show participants' }).click();
    const entry = a.locator(`li[data-user="${bob.userId}"]`);
    await entry.getByText(/media through 127\.0\.0\.1:\d+, which moderates them/).waitFor({ timeout: 10_000 });
    expect(await entry.getByRole('button').count()).toBe(0);
  });

  it('a partner’s token service that stops answering: its members show as unreachable, the call goes on', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    await asUser(bob, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(bob.userId)}/displayname`, {
      displayname: 'Bob Partenaire',
    });
    await say(alice, roomId, '!call');
    await waitForCallWidget(bob, roomId);
    const b = await ours(await pages.hostPage(bob, roomId, { options: { ignoreHTTPSErrors: true } }));
    await b.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    await eventually(
      'Bob publishing on B’s SFU',
      async () => ((await publishersOn(partnerLivekitApi(), roomId)).includes(bob.userId) ? true : undefined),
      45_000,
    );
    // B's token service goes down (the stack brings it back after this file).
    signalPart('service-b', 'SIGKILL');
    const a = await ours(await pages.hostPage(alice, roomId));
    await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    const tile = a.locator(`video[data-user="${bob.userId}"][data-unreachable="true"]`);
    await tile.waitFor({ state: 'attached', timeout: 30_000 });
    await a.getByText('Cannot be reached: their media server does not answer').waitFor({ timeout: 10_000 });
    // Alice is in the call all the same: her own camera, her controls.
    await a.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 10_000 });
    expect(await a.getByText(/media server cannot be reached/).count()).toBe(0);
    // Bob still sees and hears Alice (he subscribes on our SFU, which is up).
    await oursSeesAndHears(b, alice, 45_000);
  });
});

/**
 * One call across two deployments (MatrixRTC multi-SFU), in the browser: homeserver B names its own
 * SFU (the stack's two-SFU layout, switched on for this file), so Bob on B publishes on B's LiveKit
 * through B's token service, Alice on A on ours; each widget subscribes on the other's SFU with a
 * token from that SFU's service. Each decodes the other's video and hears the other's audio; each
 * LiveKit carries one publisher.
 */
import type { RoomServiceClient } from 'livekit-server-sdk';
import { RoomServiceClient as Client } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { livekitRoomAlias } from '../../core/livekit-names.ts';
import { livekitApi, roomWithPartner, say, sfuGet, waitForCallWidget } from '../../scripts/stack/clients/calls.ts';
import { stackEnv } from '../../scripts/stack/clients/env.ts';
import { asUser, eventually, type TestUser } from '../../scripts/stack/clients/matrix.ts';
import { up } from '../../scripts/stack/index.ts';
import { elementCallFrame, elementCallSeesVideoOf } from '../../scripts/stack/clients/element-call.ts';
import { elementCallUrl } from '../../scripts/stack/element-call.ts';
import { browserPages, ours, oursSeesAndHears } from './pages.ts';

const pages = browserPages();

/** The two-SFU layout for this file only: Synapse B restarts naming its own deployment, and back. */
beforeAll(async () => {
  process.env['CAUSERIE_STACK_SFU'] = 'two';
  await up();
}, 120_000);
afterAll(async () => {
  delete process.env['CAUSERIE_STACK_SFU'];
  await up();
}, 120_000);

const partnerLivekit = (): RoomServiceClient =>
  new Client(
    stackEnv().partner.livekit_url.replace(/^ws/, 'http'),
    stackEnv().livekit.api_key,
    stackEnv().livekit.api_secret,
  );

/** Who publishes media on a LiveKit (by Matrix user), in the room of this call. */
async function publishers(client: RoomServiceClient, roomId: string): Promise<string[]> {
  const participants = await client.listParticipants(livekitRoomAlias(roomId)).catch(() => []);
  return participants.filter((p) => p.tracks.length > 0).map((p) => p.identity.slice(0, p.identity.lastIndexOf(':')));
}

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
        publishers(livekitApi(), roomId),
        publishers(partnerLivekit(), roomId),
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
      async () => ((await publishers(partnerLivekit(), roomId)).includes(bob.userId) ? true : undefined),
      45_000,
    );
    await oursSeesAndHears(a, bob, 45_000);
    await elementCallSeesVideoOf(b, 'Alice Martin');
    expect(await publishers(livekitApi(), roomId)).toEqual([alice.userId]);
  });
});

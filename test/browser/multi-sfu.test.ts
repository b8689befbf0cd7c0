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
import { livekitApi, roomWithPartner, say, waitForCallWidget } from '../../scripts/stack/clients/calls.ts';
import { stackEnv } from '../../scripts/stack/clients/env.ts';
import { eventually, type TestUser } from '../../scripts/stack/clients/matrix.ts';
import { up } from '../../scripts/stack/index.ts';
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
  it('Alice (A, our SFU) and Bob (B, B’s own SFU) each decode the other’s video and hear the other’s audio; each SFU carries one publisher', async () => {
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
  });
});

/**
 * End-to-end encrypted calls in encrypted rooms, on the real stack: each test host page is a real
 * Matrix device (matrix-js-sdk with Rust crypto), so media keys really travel Olm-encrypted between
 * homeservers A and B as `io.element.call.encryption_keys` to-device messages. Our widget on both
 * sides, and our widget with the real Element Call, decode each other's media; a LiveKit subscriber
 * with a valid JWT and no keys receives the tracks and decodes nothing; a banned member's keys stop
 * working once the others rotate.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';

import { livekitRoomAlias } from '../../core/livekit-names.ts';
import { axeViolations } from '../../scripts/stack/clients/browser.ts';
import { inviteAndJoin, livekitApi, roomWithPartner, sfuGet } from '../../scripts/stack/clients/calls.ts';
import { elementCallFrame, elementCallSeesVideoOf } from '../../scripts/stack/clients/element-call.ts';
import {
  asUser,
  eventually,
  registerUser,
  waitForMembership,
  type TestUser,
} from '../../scripts/stack/clients/matrix.ts';
import { stackEnv } from '../../scripts/stack/clients/env.ts';
import { elementCallUrl } from '../../scripts/stack/element-call.ts';
import type { ReceivedToDevice } from '../host/call-app.ts';
import { browserPages, facts, ours, oursSeesAndHears } from './pages.ts';

const KEYS_EVENT = 'io.element.call.encryption_keys';
/** LiveKit's `Encryption_Type.GCM`: a track its publisher encrypts end to end. */
const GCM = 1;
const enc = encodeURIComponent;

const pages = browserPages();
const newPage = pages.newPage;

/** The host page (a real Matrix device) loading a call app as Element Web does. */
const hostPage = (
  user: TestUser,
  roomId: string,
  app: 'causerie' | 'element-call',
  params: Record<string, string> = {},
): Promise<Page> =>
  pages.hostPage(user, roomId, {
    callApp: app === 'causerie' ? { app, params } : { app, url: elementCallUrl, params },
  });

/** The to-device messages a host page received, decrypted by its crypto. */
const toDevice = (page: Page): Promise<ReceivedToDevice[]> =>
  page.evaluate(() => (window as unknown as { causerieToDevice: ReceivedToDevice[] }).causerieToDevice);

interface SubscriberFacts {
  video: Record<string, { subscribed: number; framesDecoded: number; packetsReceived: number }>;
  audio: string[];
  encryptionErrors: number;
}

/**
 * A bare LiveKit subscriber (test/host/subscriber.ts) for a room member who never joined the call
 * (so nobody sends them keys), with the JWT the service gives them: a connection the service lets
 * stay (it removes identities it does not know).
 */
async function subscriber(roomId: string, e2ee: boolean, alice: TestUser, publish = false): Promise<Page> {
  const member = await registerUser('a');
  await inviteAndJoin(alice, roomId, member);
  const answer = await eventually('a token for the member outside the call', async () => {
    const a = await sfuGet(member, roomId);
    return a.status === 200 ? a : undefined;
  });
  const page = await newPage();
  await page.goto(`${stackEnv().service.url}/dev/host/subscriber.html`);
  await page.waitForFunction(() => document.title === 'subscriber ready');
  await page.evaluate(
    ([url, t, e, p]) =>
      (
        window as unknown as {
          causerieSubscriber: { connect(a: string, b: string, c: boolean, d: boolean): Promise<void> };
        }
      ).causerieSubscriber.connect(url, t, e, p),
    [answer.body['url'] as string, answer.body['jwt'] as string, e2ee, publish] as const,
  );
  return page;
}

const subscriberFacts = (page: Page): Promise<SubscriberFacts> =>
  page.evaluate(() =>
    (window as unknown as { causerieSubscriber: { facts(): Promise<SubscriberFacts> } }).causerieSubscriber.facts(),
  );

const identity = (u: TestUser): string => `${u.userId}:${u.deviceId}`;

describe('end-to-end encrypted calls', () => {
  it('our widget on A and on B in an encrypted room: keys only as Olm to-device messages, media decoded both ways, LiveKit carries encrypted tracks, and a subscriber with a valid JWT but no keys decodes nothing', async () => {
    const { alice, bob, roomId } = await roomWithPartner({ encrypted: true });
    const alicePage = await hostPage(alice, roomId, 'causerie');
    const a = await ours(alicePage);
    await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    const bobPage = await hostPage(bob, roomId, 'causerie');
    const b = await ours(bobPage);
    await b.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });

    await oursSeesAndHears(a, bob, 40_000);
    await oursSeesAndHears(b, alice, 40_000);
    await a.getByText('End-to-end encrypted').waitFor({ timeout: 5_000 });

    // Each side got the other's key, decrypted by its Olm session, from the member's own device.
    for (const [page, from] of [
      [alicePage, bob],
      [bobPage, alice],
    ] as const) {
      const keys = (await toDevice(page)).filter((m) => m.type === KEYS_EVENT);
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) {
        expect(k).toMatchObject({ sender: from.userId, encrypted: true, senderDevice: from.deviceId });
        expect(k.content).toMatchObject({
          room_id: roomId,
          member: { claimed_device_id: from.deviceId },
          session: { application: 'm.call', call_id: '', scope: 'm.room' },
        });
      }
      // The key in use (index 0) and the next one, kept ready for a newcomer.
      expect(keys.map((k) => (k.content as { keys: { index: number } }).keys.index).sort()).toEqual([0, 1]);
    }

    // The SFU knows the tracks as encrypted (GCM), for both publishers.
    const participants = await livekitApi().listParticipants(livekitRoomAlias(roomId));
    const published = participants.flatMap((p) => p.tracks.map((t) => ({ who: p.identity, encryption: t.encryption })));
    expect(new Set(published.map((t) => t.who))).toEqual(new Set([identity(alice), identity(bob)]));
    expect(published.map((t) => t.encryption)).toEqual(published.map(() => GCM));

    // A valid JWT and no keys: the tracks arrive, not one frame decrypts.
    for (const e2ee of [true, false]) {
      const eve = await subscriber(roomId, e2ee, alice);
      let last: SubscriberFacts | undefined;
      const seen = await eventually(
        `the eavesdropper (e2ee ${String(e2ee)}) receiving both videos`,
        async () => {
          const f = await subscriberFacts(eve);
          last = f;
          const va = f.video[identity(alice)];
          const vb = f.video[identity(bob)];
          return va !== undefined && vb !== undefined && va.packetsReceived > 100 && vb.packetsReceived > 100
            ? f
            : undefined;
        },
        30_000,
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last)}`);
      });
      expect(seen.audio.sort()).toEqual([identity(alice), identity(bob)].sort());
      // With LiveKit's decryption and no key, every frame is dropped. Without it, the codec's
      // header bytes stay clear (so the SFU can route) and the decoder now and then accepts a
      // keyframe of ciphertext, whose picture is noise: at most a handful of hundreds.
      const most = e2ee ? 0 : 4;
      for (const who of [alice, bob]) {
        const decoded = seen.video[identity(who)]?.framesDecoded ?? 0;
        expect({ e2ee, who: who.userId, decodedAtMost: Math.max(decoded, most) }).toEqual({
          e2ee,
          who: who.userId,
          decodedAtMost: most,
        });
      }
    }
    // Meanwhile Alice and Bob still decode each other.
    await oursSeesAndHears(b, alice);

    // A member outside the call publishing clear video into it: no key for them, so their tile
    // says it is waiting for keys and shows none of their video.
    await subscriber(roomId, false, alice, true);
    const waiting = await eventually('a tile waiting for keys', async () =>
      (await facts(a)).videos.find((v) => v.remote && v.waitingForKeys),
    );
    expect(waiting.frames).toBe(0);
    await a.getByText('Waiting for encryption keys…').waitFor({ timeout: 5_000 });
    // Only the one publishing without a key waits; Bob does not (nor do members who publish nothing).
    const remote = (await facts(a)).videos.filter((v) => v.remote);
    expect(remote.filter((v) => v.waitingForKeys)).toHaveLength(1);
    expect(remote.find((v) => v.user === bob.userId)?.waitingForKeys).toBe(false);
    // The encrypted call's badge and the waiting tile are accessible.
    expect(await axeViolations(a)).toEqual([]);
  });

  it('our widget on A and the real Element Call on B, encrypted room: keys cross in io.element.call.encryption_keys both ways and each decodes the other', async () => {
    const { alice, bob, roomId } = await roomWithPartner({ encrypted: true });
    await asUser(bob, 'PUT', `/_matrix/client/v3/profile/${enc(bob.userId)}/displayname`, {
      displayname: 'Bob Partenaire',
    });
    const alicePage = await hostPage(alice, roomId, 'causerie');
    const a = await ours(alicePage);
    await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    const bobPage = await hostPage(bob, roomId, 'element-call');
    const b = await elementCallFrame(bobPage);
    await b.getByRole('button', { name: 'Join call' }).click({ timeout: 30_000 });

    await oursSeesAndHears(a, bob);
    await elementCallSeesVideoOf(b, 'Alice Martin');
    const fromBob = (await toDevice(alicePage)).filter((m) => m.type === KEYS_EVENT);
    const fromAlice = (await toDevice(bobPage)).filter((m) => m.type === KEYS_EVENT);
    expect(fromBob.length).toBeGreaterThan(0);
    expect(fromAlice.length).toBeGreaterThan(0);
    expect(fromBob.every((m) => m.encrypted && m.sender === bob.userId && m.senderDevice === bob.deviceId)).toBe(true);
    expect(fromAlice.every((m) => m.encrypted && m.sender === alice.userId)).toBe(true);
    const participants = await livekitApi().listParticipants(livekitRoomAlias(roomId));
    const tracks = participants.flatMap((p) => p.tracks);
    expect(tracks.length).toBeGreaterThan(0);
    expect(tracks.map((t) => t.encryption)).toEqual(tracks.map(() => GCM));
  });

  it('after a ban, the banned member’s keys no longer decrypt: frames sent after the rotation fail for a client that kept them and stays connected', async () => {
    const { alice, bob, roomId } = await roomWithPartner({ encrypted: true });
    const a = await ours(await hostPage(alice, roomId, 'causerie'));
    await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    const bobPage = await hostPage(bob, roomId, 'causerie');
    const b = await ours(bobPage);
    await b.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    await oursSeesAndHears(b, alice);

    // Bob's keys, kept by a client that stays on the SFU after the ban (here another member's
    // connection, which the service leaves alone): before the ban, they decrypt Alice.
    const bobKeys = (await toDevice(bobPage)).filter((m) => m.type === KEYS_EVENT && m.sender === alice.userId);
    expect(bobKeys.length).toBeGreaterThan(0);
    const kept = await subscriber(roomId, true, alice);
    for (const k of bobKeys) {
      const c = k.content as { keys: { index: number; key: string } };
      await kept.evaluate(
        ([id, index, key]) =>
          (
            window as unknown as { causerieSubscriber: { setKey(a: string, b: number, c: string): Promise<void> } }
          ).causerieSubscriber.setKey(id, index, key),
        [identity(alice), c.keys.index, c.keys.key] as const,
      );
    }
    const decoding = async (): Promise<number> =>
      (await subscriberFacts(kept)).video[identity(alice)]?.framesDecoded ?? 0;
    await eventually(
      'Bob’s kept keys decrypting Alice before the ban',
      async () => ((await decoding()) > 20 ? true : undefined),
      30_000,
    );

    await asUser(alice, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/ban`, { user_id: bob.userId, reason: 'test' });
    await waitForMembership(alice, roomId, bob.userId, 'ban');
    // Alice's widget sees the ban in the room state and rotates; her media moves to the new key.
    await eventually(
      'decoding with Bob’s keys stopping',
      async () => {
        const before = await decoding();
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        return (await decoding()) === before ? before : undefined;
      },
      20_000,
    );
    const stalled = (await subscriberFacts(kept)).video[identity(alice)];
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const f = (await subscriberFacts(kept)).video[identity(alice)];
    // Alice's media still arrives; none of it decrypts any more.
    expect(f?.framesDecoded).toBe(stalled?.framesDecoded);
    expect(f?.packetsReceived).toBeGreaterThan((stalled?.packetsReceived ?? Infinity) + 50);
    // The service removed Bob's own connection; Alice still publishes.
    const left = await livekitApi().listParticipants(livekitRoomAlias(roomId));
    expect(left.map((p) => p.identity)).not.toContain(identity(bob));
    expect(left.find((p) => p.identity === identity(alice))?.tracks.length).toBeGreaterThan(0);
  });

  it('encryption required but the keys cannot be carried (the host refuses to-device messages): a clear refusal, and no unencrypted call', async () => {
    const { alice, roomId } = await roomWithPartner({ encrypted: true });
    const a = await ours(await hostPage(alice, roomId, 'causerie', { deny: 'org.matrix.msc3819' }));
    await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    await a.getByText('This room is end-to-end encrypted, but the call’s keys cannot be exchanged here').waitFor({
      timeout: 15_000,
    });
    const participants = await livekitApi()
      .listParticipants(livekitRoomAlias(roomId))
      .catch(() => []);
    expect(participants.map((p) => p.identity)).not.toContain(identity(alice));

    // Element Web asking for encryption (perParticipantE2EE) decides too, whatever the room.
    const plain = await roomWithPartner();
    const b = await ours(
      await hostPage(plain.bob, plain.roomId, 'causerie', { perParticipantE2EE: 'true', deny: 'org.matrix.msc3819' }),
    );
    await b.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    await b.getByText('the call’s keys cannot be exchanged here').waitFor({ timeout: 15_000 });
  });
});

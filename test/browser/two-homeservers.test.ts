/**
 * What users see: Alice on homeserver A and Bob on homeserver B open the call widget from their
 * Matrix client (the test host page), join, and see and hear each other; a banned partner is shown
 * that he was removed; a stranger is told he is not a member; no serious accessibility violation.
 */
import type { Frame, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';

import { livekitRoomAlias } from '../../core/livekit-names.ts';
import { axeViolations } from '../../scripts/stack/clients/browser.ts';
import { livekitApi, roomWithPartner, say, waitForCallWidget } from '../../scripts/stack/clients/calls.ts';
import { asUser, eventually, registerUser, type TestUser } from '../../scripts/stack/clients/matrix.ts';
import { stackFetch } from '../../scripts/stack/clients/env.ts';
import { browserPages, facts, ours, react } from './pages.ts';

const enc = encodeURIComponent;

const pages = browserPages();

interface Side {
  page: Page;
  frame: Frame;
}

async function openWidget(
  user: TestUser,
  roomId: string,
  lang = 'en',
  viewport = { width: 1100, height: 700 },
): Promise<Side> {
  const page = await pages.hostPage(user, roomId, { lang, options: { viewport } });
  const frame = await ours(page);
  return { page, frame };
}

/** Waits until the frame shows the user's camera with decoded frames that keep coming. */
async function seesVideoOf(frame: Frame, userId: string): Promise<{ width: number }> {
  const first = await eventually(
    `remote video of ${userId}`,
    async () =>
      (await facts(frame)).videos.find(
        (v) => v.remote && v.source === 'camera' && v.user === userId && v.width > 0 && v.frames > 0,
      ),
    30_000,
  );
  return eventually(
    'more decoded frames',
    async () =>
      (await facts(frame)).videos.find(
        (v) => v.identity === first.identity && v.source === 'camera' && v.frames > first.frames + 5,
      ),
    15_000,
  );
}

/** A started call (widget in the room) with Alice and Bob in it from their browsers. */
/** A 1×1 PNG, as an avatar. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

/** Gives a user an avatar (uploaded to their homeserver) and waits until `viewer` sees it in the room. */
async function setAvatar(user: TestUser, viewer: TestUser, roomId: string): Promise<void> {
  const res = await stackFetch(`${user.hs.url}/_matrix/media/v3/upload?filename=avatar.png`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'image/png' },
    body: PNG,
  });
  const { content_uri } = (await res.json()) as { content_uri: string };
  await asUser(user, 'PUT', `/_matrix/client/v3/profile/${enc(user.userId)}/avatar_url`, { avatar_url: content_uri });
  await eventually('the avatar in the room', async () => {
    const m = await asUser<{ avatar_url?: string }>(
      viewer,
      'GET',
      `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(user.userId)}`,
    );
    return m.avatar_url === content_uri ? true : undefined;
  });
}

async function callInBrowsers(
  opts: { aliceAvatar?: boolean } = {},
): Promise<{ alice: TestUser; bob: TestUser; roomId: string; a: Side; b: Side }> {
  const { alice, bob, roomId } = await roomWithPartner();
  if (opts.aliceAvatar === true) await setAvatar(alice, bob, roomId);
  await say(alice, roomId, '!call');
  await waitForCallWidget(bob, roomId);
  const a = await openWidget(alice, roomId);
  const b = await openWidget(bob, roomId);
  for (const side of [a, b]) await side.frame.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
  await seesVideoOf(a.frame, bob.userId);
  await seesVideoOf(b.frame, alice.userId);
  return { alice, bob, roomId, a, b };
}

describe('a call across two homeservers in the browser', () => {
  it('Alice (A) and Bob (B) join from the widget and each receives the other’s video and audio', async () => {
    const { alice, bob, roomId, a, b } = await callInBrowsers();
    for (const side of [a, b]) {
      const f = await eventually('live remote audio', async () => {
        const x = await facts(side.frame);
        return x.audios.some((au) => au.live) ? x : undefined;
      });
      expect(f.phase).toBe('in_call');
    }
    // Alice's MatrixRTC membership, written through the widget API, is in Bob's room state.
    const membership = await eventually('Alice’s membership on B', async () => {
      try {
        return await asUser<Record<string, unknown>>(
          bob,
          'GET',
          `/_matrix/client/v3/rooms/${enc(roomId)}/state/org.matrix.msc3401.call.member/${enc(`_${alice.userId}_${alice.deviceId}_m.call`)}`,
        );
      } catch {
        return undefined;
      }
    });
    expect(membership).toMatchObject({
      application: 'm.call',
      device_id: alice.deviceId,
      focus_active: { type: 'livekit' },
    });
    // Each publishes under the identity Element Call pairs with that per-device membership,
    // `@user:DEVICE` (a hashed /get_token identity would leave an Element Call user "waiting for media").
    const identities = (await livekitApi().listParticipants(livekitRoomAlias(roomId))).map((p) => p.identity);
    expect(identities.sort()).toEqual([`${alice.userId}:${alice.deviceId}`, `${bob.userId}:${bob.deviceId}`].sort());
    const seenByBob = (await facts(b.frame)).videos.find((v) => v.remote && v.user === alice.userId);
    expect(seenByBob?.identity).toBe(`${alice.userId}:${alice.deviceId}`);
    const joinToFrame = [(await facts(a.frame)).firstFrameMs, (await facts(b.frame)).firstFrameMs];
    console.log(
      `join → first remote video frame: Alice (joined first) ${joinToFrame[0] ?? '?'} ms, Bob ${joinToFrame[1] ?? '?'} ms`,
    );

    // Accessibility of the call view.
    expect(await axeViolations(a.frame)).toEqual([]);
  });

  it('a screen shared by Bob is seen by Alice; Alice’s raised hand and reaction are seen by Bob', async () => {
    const { alice, bob, a, b } = await callInBrowsers({ aliceAvatar: true });
    await b.frame.getByRole('button', { name: 'Share screen' }).click();
    const shared = await eventually(
      'Bob’s screen on Alice’s side',
      async () =>
        (await facts(a.frame)).videos.find(
          (v) => v.remote && v.source === 'screen' && v.user === bob.userId && v.width > 0 && v.frames > 0,
        ),
      30_000,
    );
    expect(shared.width).toBeGreaterThan(0);

    await a.frame.getByRole('button', { name: 'Raise hand' }).click();
    await react(a.frame, '🎉');
    const seen = await eventually(
      'Alice’s hand and reaction on Bob’s side',
      async () =>
        (await facts(b.frame)).videos.find(
          (v) => v.remote && v.source === 'camera' && v.user === alice.userId && v.hand === '1' && v.reaction === '🎉',
        ),
      10_000,
    );
    expect(seen.hand).toBe('1');
    // The participant list shows who raised a hand first.
    await b.frame.getByRole('button', { name: 'Show participants' }).click();
    await b.frame.getByRole('complementary').getByText('✋ 1').waitFor();
    // Alice's Matrix avatar (on A) shows in Bob's list (fetched by his client, with his credentials).
    const avatarWidth = await eventually('Alice’s avatar in Bob’s list', async () => {
      const w = await b.frame.evaluate((userId) => {
        const walk = (root: Document | ShadowRoot): number | undefined => {
          for (const el of root.querySelectorAll('*')) {
            if (el.tagName === 'LI' && (el as HTMLElement).dataset['user'] === userId) {
              const img = el.querySelector('img');
              if (img !== null) return img.naturalWidth;
            }
            if (el.shadowRoot !== null) {
              const found = walk(el.shadowRoot);
              if (found !== undefined) return found;
            }
          }
          return undefined;
        };
        return walk(document);
      }, alice.userId);
      return w !== undefined && w > 0 ? w : undefined;
    });
    expect(avatarWidth).toBeGreaterThan(0);
  });

  it('Bob, banned by Alice during the call, is shown he was removed, and his media stops', async () => {
    const { alice, bob, roomId, a, b } = await callInBrowsers();
    await asUser(alice, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/ban`, { user_id: bob.userId, reason: 'test' });
    await b.frame.getByRole('alert').getByText('You were removed from the call.').waitFor({ timeout: 10_000 });
    const after = await facts(b.frame);
    expect(after.error).toBe('removed');
    expect(after.videos).toEqual([]); // no tile, no preview: his camera is released
    const bobTracks = await b.frame.evaluate(() =>
      navigator.mediaDevices.enumerateDevices().then(() => document.querySelectorAll('video').length),
    );
    expect(bobTracks).toBe(0);
    await eventually(
      'Alice no longer sees Bob',
      async () => ((await facts(a.frame)).videos.some((v) => v.user === bob.userId) ? undefined : true),
      10_000,
    );
  });

  it('!call end: both see “The call has ended” and who ended it; the partner cannot restart it, Alice can', async () => {
    const { alice, roomId, a, b } = await callInBrowsers();
    await say(alice, roomId, '!call end');
    for (const side of [a, b]) {
      await side.frame.getByText('The call has ended.').waitFor({ timeout: 15_000 });
      await side.frame.getByText('Alice Martin ended the call.').waitFor({ timeout: 5_000 });
      expect((await facts(side.frame)).phase).toBe('ended');
    }
    // Bob's server may not start calls: the service refuses, and he is told why.
    await b.frame.getByRole('button', { name: 'Start the call again' }).click();
    await b.frame.getByRole('alert').waitFor({ timeout: 15_000 });
    expect((await facts(b.frame)).error).toBe('call_not_started');
    // Alice may: she is back in a call.
    await a.frame.getByRole('button', { name: 'Start the call again' }).click();
    await eventually('Alice in a new call', async () =>
      (await facts(a.frame)).phase === 'in_call' ? true : undefined,
    );
    await eventually('Alice in LiveKit again', async () =>
      (await livekitApi().listParticipants(livekitRoomAlias(roomId))).some((p) => p.identity.startsWith(alice.userId))
        ? true
        : undefined,
    );
  });

  it('a user who is not in the room is told so clearly', async () => {
    const { roomId } = await roomWithPartner();
    const stranger = await registerUser('b');
    const side = await openWidget(stranger, roomId);
    // The lobby works (it is the user's own camera); joining is refused with a clear message.
    await side.frame.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    await side.frame.getByRole('alert').getByText('You are not a member of this room').waitFor({ timeout: 15_000 });
    expect((await facts(side.frame)).error).toBe('not_member');
  });

  it('lobby and call have no serious accessibility violation, in French, at phone width, operated by keyboard', async () => {
    const { alice, roomId } = await roomWithPartner();
    await say(alice, roomId, '!call');
    const side = await openWidget(alice, roomId, 'fr', { width: 375, height: 740 });
    await side.frame.getByRole('button', { name: 'Rejoindre l’appel' }).waitFor({ timeout: 30_000 });
    expect(await axeViolations(side.frame)).toEqual([]);
    // Keyboard only: Tab reaches Join within a few presses, and Enter joins.
    await side.frame.locator('body').click({ position: { x: 1, y: 1 } });
    let presses = 0;
    for (; presses < 12; presses++) {
      await side.page.keyboard.press('Tab');
      const focused = await side.frame.evaluate(() => {
        let el: Element | null = document.activeElement;
        while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
        return el?.textContent.trim() ?? '';
      });
      if (focused === 'Rejoindre l’appel') break;
    }
    expect(presses).toBeLessThan(12);
    await side.page.keyboard.press('Enter');
    await side.frame.getByRole('button', { name: 'Quitter' }).waitFor({ timeout: 30_000 });
    expect(await axeViolations(side.frame)).toEqual([]);
    // Nothing wider than the phone's viewport.
    const overflow = await side.frame.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });
});

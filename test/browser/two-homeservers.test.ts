/**
 * What users see: Alice on homeserver A and Bob on homeserver B open the call widget from their
 * Matrix client (the test host page), join, and see and hear each other.
 */
import type { Browser, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { hostPageUrl, launchBrowser, mediaProbe, type MediaFacts } from '../harness/browser.ts';
import { roomWithPartner, say } from '../harness/calls.ts';
import { asUser, eventually, type TestUser } from '../harness/matrix.ts';
import { stackEnv } from '../harness/stack.ts';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser.close();
});

async function openWidget(user: TestUser, roomId: string): Promise<{ page: Page; frame: Frame }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  await page.goto(hostPageUrl(stackEnv().service.url, user, roomId));
  const frame = await eventually('the widget frame', () =>
    Promise.resolve(page.frames().find((f) => f.url().includes('/widget/'))),
  );
  return { page, frame };
}

const facts = (frame: Frame): Promise<MediaFacts> => frame.evaluate<MediaFacts>(mediaProbe);

/** Waits until the frame shows the other's camera with decoded frames that keep coming. */
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

describe('a call across two homeservers in the browser', () => {
  it('Alice (A) and Bob (B) join from the widget and each receives the other’s video and audio', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    await say(alice, roomId, '!call');
    await eventually('the widget state on B', async () => {
      try {
        return await asUser<Record<string, unknown>>(
          bob,
          'GET',
          `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/im.vector.modular.widgets/causerie_call`,
        );
      } catch {
        return undefined;
      }
    });

    const a = await openWidget(alice, roomId);
    const b = await openWidget(bob, roomId);
    for (const side of [a, b]) {
      await side.frame.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    }

    const aSees = await seesVideoOf(a.frame, bob.userId);
    const bSees = await seesVideoOf(b.frame, alice.userId);
    expect(aSees.width).toBeGreaterThan(0);
    expect(bSees.width).toBeGreaterThan(0);
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
          `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/org.matrix.msc3401.call.member/${encodeURIComponent(`_${alice.userId}_${alice.deviceId}_m.call`)}`,
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

    const joinToFrame = [(await facts(a.frame)).firstFrameMs, (await facts(b.frame)).firstFrameMs];
    console.log(`join → first remote video frame: Alice ${joinToFrame[0] ?? '?'} ms, Bob ${joinToFrame[1] ?? '?'} ms`);
  });
});

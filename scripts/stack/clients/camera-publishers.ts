/**
 * Camera publishers in a call, as browsers publish cameras: real Matrix users on homeserver A, each
 * with a MatrixRTC membership in the room (Element Call shows only participants that have one) and
 * a LiveKit participant in one headless Chromium page (test/host/publisher.ts) publishing a canvas
 * of moving bars — VP8 simulcast with temporal layers and dynacast, as Chrome publishes a real
 * camera, so a client can ask the SFU for a smaller layer or fewer frames of each.
 */
import { launchMeasuredBrowser, type MeasuredBrowser } from './browser.ts';
import { callMembership, sfuGet } from './calls.ts';
import { stackEnv } from './env.ts';
import { asUser, eventually, inviteAndJoin, registerUser, type TestUser } from './matrix.ts';

export interface CameraOptions {
  width: number;
  height: number;
  fps: number;
}

export interface CameraPublishers {
  /** Per publisher: its user and the display name its tile shows. */
  publishers: { user: TestUser; name: string }[];
  /** The publishing browser's main process (its tree's CPU is what the publishers cost). */
  pid: number;
  /** Stops the cameras, leaves LiveKit, and clears the memberships. */
  close(): Promise<void>;
}

/**
 * Registers `count` users on homeserver A named "Publisher 1"…, has them join `roomId` (invited by
 * `owner`), writes their call memberships and publishes their cameras into the room's call.
 */
export async function publishCameras(
  owner: TestUser,
  roomId: string,
  count: number,
  camera: CameraOptions,
): Promise<CameraPublishers> {
  const publishers = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const user = await registerUser('a');
      const name = `Publisher ${i + 1}`;
      // Before the join, so that the member event (which Element Call reads names from) carries it.
      await asUser(user, 'PUT', `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/displayname`, {
        displayname: name,
      });
      await inviteAndJoin(owner, roomId, user);
      const membership = callMembership(user, roomId);
      await asUser(user, 'PUT', membership.path, membership.content);
      return { user, name, membershipPath: membership.path };
    }),
  );
  const clearMemberships = (): Promise<unknown> =>
    Promise.all(publishers.map((p) => asUser(p.user, 'PUT', p.membershipPath, {})));

  let browser: MeasuredBrowser | undefined;
  try {
    browser = await launchMeasuredBrowser();
    const page = await (await browser.browser.newContext()).newPage();
    await page.goto(`${stackEnv().service.url}/dev/host/publisher.html`);
    await page.waitForFunction(() => document.title === 'publisher ready');
    for (const [i, p] of publishers.entries()) {
      // Our view of the user's join may lag a moment behind the homeserver's.
      const answer = await eventually(`a token for ${p.name}`, async () => {
        const a = await sfuGet(p.user, roomId);
        return a.status === 200 ? a.body : undefined;
      });
      await page.evaluate(
        ([url, jwt, cam]) =>
          (
            window as unknown as {
              causeriePublisher: { publish: (u: string, j: string, c: unknown) => Promise<void> };
            }
          ).causeriePublisher.publish(url, jwt, cam),
        [answer['url'] as string, answer['jwt'] as string, { ...camera, tint: (i * 360) / count }] as const,
      );
    }
  } catch (err) {
    await browser?.close();
    await clearMemberships();
    throw err;
  }
  const running = browser;
  return {
    publishers: publishers.map(({ user, name }) => ({ user, name })),
    pid: running.pid,
    close: async () => {
      await running.close();
      await clearMemberships();
    },
  };
}

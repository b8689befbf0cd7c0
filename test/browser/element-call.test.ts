/**
 * One call with Element: the real Element Call (npm, a test dependency, served on its own origin)
 * hosted by the test host page as Element Web hosts it, and our widget, on the two homeservers. Each
 * decodes the other's video and plays its audio, with the right names on the tiles, whichever side
 * runs which; our widget loaded as Element Web's call app tells the host it joined and leaves on
 * the host's hang-up; a call Element Call starts gets its notices once.
 */
import { TrackType } from 'livekit-server-sdk';
import type { Frame, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';

import { livekitRoomAlias } from '../../core/livekit-names.ts';
import { axeViolations, type CallApp } from '../../scripts/stack/clients/browser.ts';
import {
  botMessages,
  botNotice,
  livekitApi,
  roomWithPartner,
  say,
  waitForCallWidget,
} from '../../scripts/stack/clients/calls.ts';
import {
  elementCallFacts,
  elementCallFrame,
  elementCallSeesVideoOf,
  elementCallShows,
} from '../../scripts/stack/clients/element-call.ts';
import { asUser, eventually, type TestUser } from '../../scripts/stack/clients/matrix.ts';
import { stackEnv } from '../../scripts/stack/clients/env.ts';
import { causerieCopyPath, elementCallUrl } from '../../scripts/stack/element-call.ts';
import { browserPages, facts, ours, oursSeesAndHears, react } from './pages.ts';

const enc = encodeURIComponent;

/** The test host page's handle on Element Web's call-app actions (test/host/call-app.ts). */
interface Host {
  actions: string[];
  join(audio: boolean, video: boolean): Promise<unknown>;
  deviceMute(audio: boolean, video: boolean): Promise<{ audio_enabled?: boolean; video_enabled?: boolean }>;
  hangup(): Promise<unknown>;
}

/** The text colour of the first element matching `selector` inside the widget's shadow roots. */
const colourOf = (frame: Frame, tag: string): Promise<string | undefined> =>
  frame.evaluate((t) => {
    const walk = (root: Document | ShadowRoot): string | undefined => {
      for (const el of root.querySelectorAll('*')) {
        if (el.tagName.toLowerCase() === t) return getComputedStyle(el).color;
        if (el.shadowRoot !== null) {
          const found = walk(el.shadowRoot);
          if (found !== undefined) return found;
        }
      }
      return undefined;
    };
    return walk(document);
  }, tag);

const pages = browserPages();

const hostPage = (
  user: TestUser,
  roomId: string,
  callApp?: CallApp & { params?: Record<string, string> },
): Promise<Page> => pages.hostPage(user, roomId, callApp === undefined ? {} : { callApp });

async function elementCallHears(frame: Frame): Promise<void> {
  await eventually('Element Call playing live remote audio', async () =>
    (await elementCallFacts(frame)).audios.some((a) => a.live && a.playing) ? true : undefined,
  );
}

/** Opens Element Call's reactions menu and clicks one of its buttons. */
async function inReactionsMenu(frame: Frame, name: string): Promise<void> {
  // Its emoji buttons are named by a tooltip; the emoji is their text.
  const button = /^\p{Extended_Pictographic}/u.test(name)
    ? frame.locator('button', { hasText: name })
    : frame.getByRole('button', { name, exact: true });
  await frame.getByRole('button', { name: 'Reactions' }).click();
  await button.click();
  // The menu closes after a choice.
  await button.waitFor({ state: 'hidden' });
}

async function setName(user: TestUser, name: string): Promise<void> {
  await asUser(user, 'PUT', `/_matrix/client/v3/profile/${enc(user.userId)}/displayname`, { displayname: name });
}

const elementCall = (params?: Record<string, string>): CallApp & { params?: Record<string, string> } => ({
  app: 'element-call',
  url: elementCallUrl,
  ...(params === undefined ? {} : { params }),
});

describe('one call with Element Call', () => {
  it('Element Call on B joins the call our widget runs on A: each decodes the other’s video and plays its audio, with named tiles; hands and reactions cross both ways', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    await setName(bob, 'Bob Partenaire');
    await say(alice, roomId, '!call');
    await waitForCallWidget(bob, roomId);
    const a = await ours(await hostPage(alice, roomId));
    await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });

    const b = await elementCallFrame(await hostPage(bob, roomId, elementCall()));
    await b.getByRole('button', { name: 'Join call' }).click({ timeout: 30_000 });

    await oursSeesAndHears(a, bob);
    await elementCallSeesVideoOf(b, 'Alice Martin');
    await elementCallHears(b);
    // Each tile carries its person's name.
    await a.getByText('Bob Partenaire').first().waitFor({ timeout: 10_000 });
    // Hands and reactions cross, in Element Call's format (room events on each one's membership).
    await a.getByRole('button', { name: 'Raise hand' }).click();
    await react(a, '🎉');
    await elementCallShows(b, 'Alice Martin', (i) => i.includes('✋') && i.includes('🎉'));
    await inReactionsMenu(b, 'Raise hand');
    await inReactionsMenu(b, '👏');
    // Second in the queue: Alice raised hers first.
    await eventually('Bob’s hand and reaction on Alice’s side', async () =>
      (await facts(a)).videos.find(
        (v) => v.remote && v.source === 'camera' && v.user === bob.userId && v.hand === '2' && v.reaction === '👏',
      ),
    );
    // Lowered on each side: Alice's redaction reaches Element Call, Bob's reaches us.
    await a.getByRole('button', { name: 'Lower hand' }).click();
    await elementCallShows(b, 'Alice Martin', (i) => !i.includes('✋'));
    await inReactionsMenu(b, 'Lower hand');
    await eventually('Bob’s hand lowered on Alice’s side', async () =>
      (await facts(a)).videos.find((v) => v.remote && v.user === bob.userId && v.hand === ''),
    );
    // Each publishes under the identity its per-device membership names.
    const identities = (await livekitApi().listParticipants(livekitRoomAlias(roomId))).map((p) => p.identity);
    expect(identities.sort()).toEqual([`${alice.userId}:${alice.deviceId}`, `${bob.userId}:${bob.deviceId}`].sort());
  });

  it('a call Element Call starts on A, joined by our widget on B loaded as Element Web’s call app: both ways, host actions, hang-up, notices once', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    await setName(bob, 'Bob Partenaire');
    const aPage = await hostPage(alice, roomId, elementCall({ intent: 'start_call' }));
    const a = await elementCallFrame(aPage);
    await a.getByRole('button', { name: 'Join call' }).click({ timeout: 30_000 });
    // Started without !call: the service still announces it, once.
    await botNotice(bob, roomId, /Call started by/);

    const bPage = await hostPage(bob, roomId, { app: 'causerie' });
    const b = await ours(bPage);
    await b.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    await oursSeesAndHears(b, alice);
    await elementCallSeesVideoOf(a, 'Bob Partenaire');
    await elementCallHears(a);
    await b.getByText('Alice Martin').first().waitFor({ timeout: 10_000 });

    const hostActions = (): Promise<string[]> =>
      bPage.evaluate(() => (window as unknown as { causerieHost: { actions: string[] } }).causerieHost.actions);
    await eventually('io.element.join at the host', async () =>
      (await hostActions()).includes('io.element.join') ? true : undefined,
    );
    expect(await hostActions()).toContain('set_always_on_screen');

    // Element Web's hang-up: our widget leaves the call and clears its membership.
    await bPage.evaluate(() =>
      (window as unknown as { causerieHost: { hangup(): Promise<unknown> } }).causerieHost.hangup(),
    );
    const membershipPath = `/_matrix/client/v3/rooms/${enc(roomId)}/state/org.matrix.msc3401.call.member/${enc(`_${bob.userId}_${bob.deviceId}_m.call`)}`;
    await eventually('Bob’s membership cleared after the hang-up', async () => {
      const m = await asUser<Record<string, unknown>>(bob, 'GET', membershipPath);
      return Object.keys(m).length === 0 ? true : undefined;
    });
    await eventually('Bob out of the call', async () =>
      (await livekitApi().listParticipants(livekitRoomAlias(roomId))).some((p) => p.identity.startsWith(bob.userId))
        ? undefined
        : true,
    );
    await eventually('io.element.close at the host', async () =>
      (await hostActions()).includes('io.element.close') ? true : undefined,
    );
    // Element Call hangs up too: the call ends once LiveKit closes the empty room (its 20 s grace
    // for a reconnect), and its start and end notices were sent once each.
    await a.getByRole('button', { name: 'End call' }).click();
    await botNotice(bob, roomId, /Call ended/, 0, 45_000);
    const fromBot = await botMessages(bob, roomId);
    expect(fromBot.filter((m) => m.includes('Call started by'))).toHaveLength(1);
    expect(fromBot.filter((m) => m.includes('Call ended'))).toHaveLength(1);
  }, 120_000);

  it('Element Web’s dark theme and text size: every part of lobby and call is dark and readable (axe), text scaled; a theme change follows', async () => {
    const { alice, roomId } = await roomWithPartner();
    const page = await hostPage(alice, roomId, { app: 'causerie', params: { theme: 'dark', fontScale: '1.25' } });
    const a = await ours(page);
    await a.getByRole('button', { name: 'Join the call' }).waitFor({ timeout: 30_000 });
    // Light text in the lobby's own component, not only at the root: the theme reaches every part.
    expect(await colourOf(a, 'causerie-lobby')).toBe('rgb(237, 240, 244)');
    expect(await a.evaluate(() => getComputedStyle(document.documentElement).fontSize)).toBe('20px');
    expect(await axeViolations(a)).toEqual([]);
    await a.getByRole('button', { name: 'Join the call' }).click();
    await eventually('in the call', async () => ((await facts(a)).phase === 'in_call' ? true : undefined));
    expect(await colourOf(a, 'causerie-call')).toBe('rgb(237, 240, 244)');
    expect(await axeViolations(a)).toEqual([]);
    // The user switches Element Web to its light theme during the call.
    await page.evaluate(() =>
      (window as unknown as { causerieHost: { theme(name: string): Promise<unknown> } }).causerieHost.theme('light'),
    );
    await eventually('the light theme', async () =>
      (await colourOf(a, 'causerie-call')) === 'rgb(23, 25, 28)' ? true : undefined,
    );
  });

  it('a copy of the widget served at another origin and path (as at Element Web’s call-app path) finds its service through config.json and joins', async () => {
    const { alice, roomId } = await roomWithPartner();
    const page = await hostPage(alice, roomId, { app: 'causerie', url: `${elementCallUrl}${causerieCopyPath}` });
    const a = await eventually('the copied widget’s frame', () =>
      Promise.resolve(page.frames().find((f) => f.url().startsWith(`${elementCallUrl}${causerieCopyPath}/`))),
    );
    await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    await eventually('in the call', async () => ((await facts(a)).phase === 'in_call' ? true : undefined));
    // Its membership names the service the homeservers advertise, not the copy's origin.
    const membership = await eventually('Alice’s membership', () =>
      asUser<{ foci_preferred?: { livekit_service_url?: string }[] }>(
        alice,
        'GET',
        `/_matrix/client/v3/rooms/${enc(roomId)}/state/org.matrix.msc3401.call.member/${enc(`_${alice.userId}_${alice.deviceId}_m.call`)}`,
      ).catch(() => undefined),
    );
    expect(membership.foci_preferred?.[0]?.livekit_service_url).toBe(stackEnv().service.url);
    expect((await livekitApi().listParticipants(livekitRoomAlias(roomId))).map((p) => p.identity)).toEqual([
      `${alice.userId}:${alice.deviceId}`,
    ]);
  });

  it('Element Web’s call-app behaviour: a preloaded call waits for the host’s Join, obeys its device mute, returns to the lobby; a voice intent starts without camera', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    const page = await hostPage(alice, roomId, {
      app: 'causerie',
      params: { skipLobby: 'true', preload: 'true', returnToLobby: 'true' },
    });
    const a = await ours(page);
    // Preloaded: no lobby, it waits for the host.
    await a.getByText('The call is ready').waitFor({ timeout: 30_000 });
    expect(await a.getByRole('button', { name: 'Join the call' }).count()).toBe(0);
    await page.evaluate(() => (window as unknown as { causerieHost: Host }).causerieHost.join(true, true));
    await eventually('in the call', async () => ((await facts(a)).phase === 'in_call' ? true : undefined));
    const aliceTracks = async () =>
      (await livekitApi().listParticipants(livekitRoomAlias(roomId))).find((p) => p.identity.startsWith(alice.userId))
        ?.tracks ?? [];
    await eventually('Alice publishing microphone and camera', async () =>
      (await aliceTracks()).filter((t) => !t.muted).length === 2 ? true : undefined,
    );
    // The host turns the microphone off: the widget obeys and answers with the state after.
    const answer = await page.evaluate(() =>
      (window as unknown as { causerieHost: Host }).causerieHost.deviceMute(false, true),
    );
    expect(answer).toMatchObject({ audio_enabled: false, video_enabled: true });
    await eventually('Alice’s microphone off in LiveKit', async () => {
      const tracks = await aliceTracks();
      return tracks.some((t) => t.type === TrackType.AUDIO && !t.muted) ? undefined : true;
    });
    // The host hangs up: back to the lobby (returnToLobby), not a dead end.
    await page.evaluate(() => (window as unknown as { causerieHost: Host }).causerieHost.hangup());
    await a.getByRole('button', { name: 'Join the call' }).waitFor({ timeout: 15_000 });

    // A voice call: the lobby has the camera off, and joining publishes no camera.
    const voice = await ours(
      await hostPage(bob, roomId, { app: 'causerie', params: { intent: 'join_existing_voice' } }),
    );
    await voice.getByRole('button', { name: 'Turn camera on' }).waitFor({ timeout: 30_000 });
    await voice.getByRole('button', { name: 'Join the call' }).click();
    await eventually('Bob in the call with his microphone only', async () => {
      const bobs = (await livekitApi().listParticipants(livekitRoomAlias(roomId))).find((p) =>
        p.identity.startsWith(bob.userId),
      );
      return bobs?.tracks.length === 1 && bobs.tracks[0]?.type === TrackType.AUDIO ? true : undefined;
    });
  });

  it('ringing as Element Call does: starting a DM call rings the room (MSC4075 and its legacy form) on our membership; a decline is shown', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    await setName(bob, 'Bob Partenaire');
    const a = await ours(
      await hostPage(alice, roomId, {
        app: 'causerie',
        params: { intent: 'start_call_dm', skipLobby: 'true', sendNotificationType: 'ring' },
      }),
    );
    // No lobby: straight into the call.
    await eventually('Alice in the call', async () => ((await facts(a)).phase === 'in_call' ? true : undefined));
    interface Ev {
      type: string;
      sender: string;
      event_id: string;
      state_key?: string;
      content: Record<string, unknown>;
    }
    const ring = await eventually('the ring on Bob’s side', async () => {
      const { chunk } = await asUser<{ chunk: Ev[] }>(
        bob,
        'GET',
        `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=50`,
      );
      const notification = chunk.find((e) => e.type === 'org.matrix.msc4075.rtc.notification');
      const legacy = chunk.find((e) => e.type === 'org.matrix.msc4075.call.notify');
      const membership = chunk.find(
        (e) =>
          e.type === 'org.matrix.msc3401.call.member' &&
          e.sender === alice.userId &&
          e.content['device_id'] !== undefined,
      );
      return notification && legacy && membership ? { notification, legacy, membership } : undefined;
    });
    expect(ring.notification.sender).toBe(alice.userId);
    expect(ring.notification.content).toMatchObject({
      notification_type: 'ring',
      'm.mentions': { room: true },
      'm.relates_to': { rel_type: 'm.reference', event_id: ring.membership.event_id },
      lifetime: 90_000,
    });
    expect(ring.legacy.content).toMatchObject({ application: 'm.call', notify_type: 'ring' });
    // Bob declines: Alice is told.
    await asUser(bob, 'PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/org.matrix.msc4310.rtc.decline/d1`, {
      'm.relates_to': { rel_type: 'm.reference', event_id: ring.notification.event_id },
    });
    await a.getByText('Bob Partenaire declined the call.').waitFor({ timeout: 15_000 });
  });
});

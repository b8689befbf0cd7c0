/**
 * The call UI as a person uses it, on the real stack (Synapse A + B, LiveKit, the service,
 * Chromium with two fake cameras and three fake microphones and speakers): the controls on a
 * desktop and on a phone, a keyboard-only walk through every control, the shortcuts and
 * push-to-talk, switching devices during the call, the reconnecting overlay when LiveKit's
 * connection is cut, pages of tiles and the speaker view, the lobby, and the call's sounds.
 */
import { dispose, type Room } from '@livekit/rtc-node';
import type { Frame, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';

import { hostPageUrl } from '../../scripts/stack/clients/browser.ts';
import { publishCameras } from '../../scripts/stack/clients/camera-publishers.ts';
import { stackEnv } from '../../scripts/stack/clients/env.ts';
import {
  connectToCall,
  inviteAndJoin,
  roomWithPartner,
  say,
  waitForCallWidget,
} from '../../scripts/stack/clients/calls.ts';
import { asUser, eventually, registerUser, type TestUser } from '../../scripts/stack/clients/matrix.ts';
import { signalPart } from '../harness/faults.ts';
import { browserPages, facts, ours, oursSeesAndHears } from './pages.ts';

const pages = browserPages();
const connected: Room[] = [];
afterAll(async () => {
  for (const r of connected) await r.disconnect();
  await dispose();
});

/** Records, in every frame of the page, each call sound the widget plays. */
const RECORD_SOUNDS = `(() => {
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    if (this.dataset && this.dataset.sound) (window.__sounds = window.__sounds || []).push(this.dataset.sound);
    return play.call(this);
  };
})()`;

const soundsPlayed = (frame: Frame): Promise<string[]> => frame.evaluate<string[]>('window.__sounds || []');

/** The accessible name of the focused element, looking through shadow roots. */
const focusedName = (frame: Frame): Promise<string> =>
  frame.evaluate<string>(`(() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    if (!el || el === document.body) return '';
    return (el.getAttribute('aria-label') || el.textContent || '').trim();
  })()`);

/** The names of the call's controls a person can see now (through shadow roots). */
const visibleControls = (frame: Frame): Promise<string[]> =>
  frame.evaluate<string[]>(`(() => {
    const out = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.classList && el.classList.contains('icon-button') && el.offsetParent !== null) out.push(el.getAttribute('aria-label'));
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    };
    const call = document.querySelector('causerie-app')?.shadowRoot?.querySelector('causerie-call');
    if (call) walk(call.shadowRoot);
    return out;
  })()`);

/** Our own camera's capture device, as the published track's label says. */
const localCamera = (frame: Frame): Promise<string | undefined> =>
  frame.evaluate<string | undefined>(`(() => {
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.tagName === 'VIDEO' && el.dataset.remote === 'false' && el.dataset.source === 'camera' && el.srcObject) {
          const t = el.srcObject.getVideoTracks()[0];
          if (t) return t.label;
        }
        if (el.shadowRoot) { const found = walk(el.shadowRoot); if (found) return found; }
      }
      return undefined;
    };
    return walk(document);
  })()`);

/** A phase of the widget's app (lobby, in_call…). */
const phase = async (frame: Frame): Promise<string | undefined> => (await facts(frame)).phase;

/** Alice in the call from the room's widget (`!call`), Bob named; Alice's page records sounds. */
async function aliceInCall(opts: { viewport?: { width: number; height: number } } = {}): Promise<{
  alice: TestUser;
  bob: TestUser;
  roomId: string;
  page: Page;
  a: Frame;
}> {
  const { alice, bob, roomId } = await roomWithPartner();
  await say(alice, roomId, '!call');
  await waitForCallWidget(alice, roomId);
  const page = await pages.newPage(opts.viewport === undefined ? {} : { viewport: opts.viewport });
  await page.context().addInitScript(RECORD_SOUNDS);
  await page.goto(hostPageUrl(stackEnv().service.url, alice, roomId, 'en'));
  const a = await ours(page);
  await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
  // In the call with her microphone and camera published (the call's own buttons, not the lobby's).
  const call = a.locator('causerie-call');
  await call.getByRole('button', { name: 'Turn camera off' }).waitFor({ timeout: 30_000 });
  await call.getByRole('button', { name: 'Mute microphone' }).waitFor();
  return { alice, bob, roomId, page, a };
}

async function bobJoins(bob: TestUser, roomId: string): Promise<{ page: Page; b: Frame }> {
  const page = await pages.hostPage(bob, roomId);
  const b = await ours(page);
  await b.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
  return { page, b };
}

/** Frames each remote camera's <video> showed over `ms`, by Matrix user id. */
async function framesOver(frame: Frame, ms: number): Promise<Map<string, number>> {
  const count = async (): Promise<Map<string, number>> =>
    new Map(
      (await facts(frame)).videos.filter((v) => v.remote && v.source === 'camera').map((v) => [v.user, v.frames]),
    );
  const before = await count();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = await count();
  return new Map([...after].map(([user, n]) => [user, n - (before.get(user) ?? n)]));
}

/** The call's bar on a desktop, in order, with Alice's microphone and camera on. */
const DESKTOP_CONTROLS = [
  'Mute microphone',
  'Turn camera off',
  'Share screen',
  'Reactions',
  'Raise hand',
  'Leave',
  'Speaker view',
  'Show participants',
  'Settings',
  'More options',
];

describe('the call UI', () => {
  it('controls: named icon buttons; on a phone microphone, camera, Leave and More, the rest in More; a keyboard-only walk reaches and works every control', async () => {
    const { page, a } = await aliceInCall();
    expect(await visibleControls(a)).toEqual(DESKTOP_CONTROLS);

    // Keyboard only: Tab from the page's start goes through every control of the bar.
    await a.locator('body').focus();
    const reached: string[] = [];
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      reached.push(await focusedName(a));
    }
    for (const name of DESKTOP_CONTROLS) expect(reached).toContain(name);
    // A pin button on each tile too.
    expect(reached.some((n) => n.startsWith('Pin '))).toBe(true);

    // Reactions by keyboard: Enter opens the menu with the focus on its first emoji, arrows move, Enter sends.
    await a.getByRole('button', { name: 'Reactions' }).focus();
    await page.keyboard.press('Enter');
    expect(await focusedName(a)).toBe('React 👍');
    await page.keyboard.press('ArrowRight');
    expect(await focusedName(a)).toBe('React 👏');
    await page.keyboard.press('Enter');
    await eventually('our reaction on our tile', async () =>
      (await facts(a)).videos.some((v) => !v.remote && v.reaction === '👏') ? true : undefined,
    );

    // Hand and microphone by keyboard (Space on a focused button presses it).
    await a.getByRole('button', { name: 'Raise hand' }).focus();
    await page.keyboard.press('Space');
    await a.getByRole('button', { name: 'Lower hand' }).waitFor();
    await a.getByRole('button', { name: 'Mute microphone' }).focus();
    await page.keyboard.press('Enter');
    await a.getByRole('button', { name: 'Unmute microphone' }).waitFor();

    // More: Escape closes its menu and gives the focus back to its button.
    await a.getByRole('button', { name: 'More options' }).focus();
    await page.keyboard.press('Enter');
    expect(await focusedName(a)).toBe('Keyboard shortcuts');
    await page.keyboard.press('Escape');
    await a.getByRole('menu').waitFor({ state: 'detached' });
    expect(await focusedName(a)).toBe('More options');

    // Settings by keyboard: a modal dialog, closed with Escape.
    await a.getByRole('button', { name: 'Settings' }).focus();
    await page.keyboard.press('Enter');
    await a.getByRole('dialog', { name: 'Settings' }).waitFor();
    await page.keyboard.press('Escape');
    await a.getByRole('dialog').waitFor({ state: 'detached' });

    // The people list by keyboard.
    await a.getByRole('button', { name: 'Show participants' }).focus();
    await page.keyboard.press('Enter');
    await a.getByRole('button', { name: 'Hide participants' }).waitFor();

    // On a phone: four buttons in the bar; the others are in More's menu, and work from there.
    await page.setViewportSize({ width: 375, height: 700 });
    await eventually('the phone bar', async () =>
      JSON.stringify(await visibleControls(a)) ===
      JSON.stringify(['Unmute microphone', 'Turn camera off', 'Leave', 'More options'])
        ? true
        : undefined,
    );
    await a.getByRole('button', { name: 'More options' }).click();
    for (const item of [
      'Share screen',
      'Lower hand',
      'Speaker view',
      'Hide participants',
      'Settings',
      'Keyboard shortcuts',
    ])
      await a.getByRole('menuitem', { name: item }).waitFor();
    await a.getByRole('menuitem', { name: 'React 🎉' }).waitFor();
    await a.getByRole('menuitem', { name: 'Lower hand' }).click();
    await a.getByRole('menu').waitFor({ state: 'detached' });
    await a.getByRole('button', { name: 'More options' }).click();
    await a.getByRole('menuitem', { name: 'Raise hand' }).waitFor();
  });

  it('shortcuts: M, V and H toggle microphone, camera and hand; Space held talks while muted; ? lists them all', async () => {
    const { page, a } = await aliceInCall();
    // The focus on the call itself, not in a field.
    await a.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('m');
    await a.getByRole('button', { name: 'Unmute microphone' }).waitFor();
    await page.keyboard.press('v');
    await a.getByRole('button', { name: 'Turn camera on' }).waitFor();
    await page.keyboard.press('h');
    await a.getByRole('button', { name: 'Lower hand' }).waitFor();

    // Push-to-talk: the microphone is on while Space is held, off again once released.
    await page.keyboard.down(' ');
    await a.getByRole('button', { name: 'Mute microphone' }).waitFor();
    await page.keyboard.up(' ');
    await a.getByRole('button', { name: 'Unmute microphone' }).waitFor();

    // Ctrl+M belongs to the browser: nothing changes.
    await page.keyboard.press('Control+m');
    await page.keyboard.press('v');
    await a.getByRole('button', { name: 'Turn camera off' }).waitFor();
    expect(await a.getByRole('button', { name: 'Unmute microphone' }).count()).toBe(1);

    await page.keyboard.press('?');
    const help = a.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.waitFor();
    const text = await help.innerText();
    for (const line of [
      'Mute or unmute the microphone',
      'Turn the camera off or on',
      'Raise or lower your hand',
      'Hold to talk',
      'Space',
    ])
      expect(text).toContain(line);
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'detached' });
  });

  it('devices during the call: another camera and microphone without leaving (the published track changes, Bob keeps seeing Alice), the speaker, the level meter, the microphone processing, all remembered', async () => {
    const { alice, bob, roomId, page, a } = await aliceInCall();
    const { b } = await bobJoins(bob, roomId);
    await oursSeesAndHears(b, alice);
    await oursSeesAndHears(a, bob);
    expect(await localCamera(a)).toBe('fake_device_0');

    await a.getByRole('button', { name: 'Settings' }).click();
    const dialog = a.getByRole('dialog', { name: 'Settings' });
    await dialog.waitFor();
    // The meter moves with the fake microphone's beeps.
    await eventually('the microphone level', async () =>
      Number(await a.locator('[role="meter"]').getAttribute('data-level')) > 0.2 ? true : undefined,
    );

    await dialog.getByRole('combobox', { name: 'Camera' }).selectOption({ label: 'fake_device_2' });
    await eventually('the second camera published', async () =>
      (await localCamera(a)) === 'fake_device_2' ? true : undefined,
    );
    await dialog.getByRole('combobox', { name: 'Microphone' }).selectOption({ label: 'Fake Audio Input 1' });
    await eventually('the second microphone published', async () =>
      (await a.locator('[role="meter"]').getAttribute('data-mic')) === 'Fake Audio Input 1' ? true : undefined,
    );
    // Still in the call, and Bob still receives Alice's video and audio.
    expect(await phase(a)).toBe('in_call');
    await oursSeesAndHears(b, alice);

    // The speaker: Bob's audio plays on the chosen output.
    const output = await dialog
      .getByLabel('Speaker')
      .locator('option', { hasText: 'Fake Audio Output 1' })
      .getAttribute('value');
    await dialog.getByRole('combobox', { name: 'Speaker' }).selectOption({ label: 'Fake Audio Output 1' });
    await eventually('remote audio on the chosen speaker', async () =>
      (
        await a.evaluate<string[]>(
          `(() => { const out = []; const walk = (r) => { for (const el of r.querySelectorAll('*')) { if (el.tagName === 'AUDIO' && el.dataset.remoteAudio) out.push(el.sinkId); if (el.shadowRoot) walk(el.shadowRoot); } }; walk(document); return out; })()`,
        )
      ).every((id) => id === output) && output !== null
        ? true
        : undefined,
    );

    // Noise suppression off: the microphone is captured again without it.
    await dialog.getByRole('switch', { name: 'Noise suppression' }).uncheck();
    await eventually('the microphone without noise suppression', async () =>
      (await a.locator('[role="meter"]').getAttribute('data-noise-suppression')) === 'false' ? true : undefined,
    );
    await page.keyboard.press('Escape');

    // Remembered: leave, and the lobby's pickers show the chosen devices; the next call starts with them.
    await a.getByRole('button', { name: 'Leave' }).click();
    await page.reload();
    const again = await ours(page);
    await again.getByRole('button', { name: 'Join the call' }).waitFor({ timeout: 30_000 });
    await eventually('the remembered camera in the lobby', async () =>
      (await again.getByRole('combobox', { name: 'Camera' }).locator('option:checked').textContent())?.trim() ===
      'fake_device_2'
        ? true
        : undefined,
    );
    expect(
      (await again.getByRole('combobox', { name: 'Microphone' }).locator('option:checked').textContent())?.trim(),
    ).toBe('Fake Audio Input 1');
    await again.getByRole('button', { name: 'Join the call' }).click();
    await eventually(
      'the remembered camera published',
      async () => ((await localCamera(again)) === 'fake_device_2' ? true : undefined),
      30_000,
    );
    await again.getByRole('button', { name: 'Settings' }).click();
    expect(await again.getByRole('switch', { name: 'Noise suppression' }).isChecked()).toBe(false);
    await eventually('the remembered processing', async () =>
      (await again.locator('[role="meter"]').getAttribute('data-noise-suppression')) === 'false' ? true : undefined,
    );
  });

  it('LiveKit’s connection cut: “reconnecting” over the call, then the call resumes by itself', async () => {
    const { alice, bob, roomId, a } = await aliceInCall();
    const { b } = await bobJoins(bob, roomId);
    await oursSeesAndHears(a, bob);
    signalPart('livekit', 'SIGSTOP');
    try {
      await a.locator('[data-reconnecting]').waitFor({ timeout: 40_000 });
      expect(await a.getByRole('status').filter({ hasText: 'Connection lost, reconnecting…' }).count()).toBe(1);
      // The call stays on screen under the overlay: not an error page.
      expect(await phase(a)).toBe('in_call');
    } finally {
      signalPart('livekit', 'SIGCONT');
    }
    await a.locator('[data-reconnecting]').waitFor({ state: 'detached', timeout: 60_000 });
    expect(await phase(a)).toBe('in_call');
    await oursSeesAndHears(a, bob, 60_000);
    await oursSeesAndHears(b, alice, 60_000);
  });

  it('layouts: pages of tiles when more than fit, the speaker view with a filmstrip, a pinned tile in the spotlight', async () => {
    const { alice, roomId, a } = await aliceInCall({ viewport: { width: 700, height: 420 } });
    // Six more people in the call, as silent LiveKit participants.
    const others = await Promise.all(Array.from({ length: 6 }, () => registerUser('a')));
    for (const u of others) await inviteAndJoin(alice, roomId, u);
    for (const u of others) await connectToCall(u, roomId, connected);
    const tiles = (): Promise<number> => a.locator('causerie-tile').count();
    const pager = a.locator('[data-pages]');
    await pager.waitFor({ timeout: 20_000 });
    const pagesCount = Number(await pager.getAttribute('data-pages'));
    expect(pagesCount).toBeGreaterThan(1);
    const firstPage = await tiles();
    expect(firstPage).toBeLessThan(7);
    expect(await pager.textContent()).toContain(`Page 1 of ${pagesCount}`);
    // The last page holds the rest, ourselves last; the earlier page's tiles are gone (their video unsubscribed).
    for (let p = 1; p < pagesCount; p++) await a.getByRole('button', { name: 'Next page' }).click();
    await eventually('the last page', async () =>
      (await pager.getAttribute('data-page')) === String(pagesCount) ? true : undefined,
    );
    expect(await a.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await a.getByText('Alice Martin (You)').waitFor();
    expect(firstPage + (pagesCount - 2) * firstPage + (await tiles())).toBe(7);

    // Speaker view: one tile in the spotlight, everyone else in the filmstrip, no pages.
    await a.getByRole('button', { name: 'Speaker view' }).click();
    await a.locator('[data-layout="spotlight"]').waitFor();
    expect(await a.getByRole('list', { name: 'Other participants' }).locator('causerie-tile').count()).toBe(6);
    expect(await pager.count()).toBe(0);
    // Back to the grid, then pin ourselves: our tile takes the spotlight.
    await a.getByRole('button', { name: 'Grid view' }).click();
    await a.locator('[data-layout="grid"]').waitFor();
    await pager.waitFor();
    for (let p = 1; p < pagesCount; p++) await a.getByRole('button', { name: 'Next page' }).click();
    await a.getByRole('button', { name: 'Pin Alice Martin (You)' }).click();
    await a.locator('[data-layout="spotlight"]').waitFor();
    await a.getByRole('button', { name: 'Unpin Alice Martin (You)' }).waitFor();
    expect(await a.locator('.spotlight causerie-tile').getByText('Alice Martin (You)').count()).toBe(1);
    // The layout is remembered for the next call.
    await a.getByRole('button', { name: 'Unpin Alice Martin (You)' }).click();
    await a.getByRole('button', { name: 'Speaker view' }).click();
    expect(await a.evaluate<string>(`JSON.parse(localStorage.getItem('causerie.preferences')).layout`)).toBe('speaker');
  });

  it('lighter on the machine: in a grid of six, thumbnails get about half the frames; a pinned one gets them all', async () => {
    const { alice, roomId, a } = await aliceInCall();
    // Five people publishing cameras as Chrome does (simulcast with temporal layers), from a browser of their own.
    const cameras = await publishCameras(alice, roomId, 5, { width: 640, height: 360, fps: 30 });
    try {
      const [first] = cameras.publishers;
      if (first === undefined) throw new Error('no publisher');
      await eventually(
        'all five cameras decoding',
        async () => ((await framesOver(a, 1_000)).size === 5 ? true : undefined),
        30_000,
      );
      const thumbnail = (await framesOver(a, 4_000)).get(first.user.userId) ?? 0;
      await a.getByRole('button', { name: `Pin ${first.name}` }).click();
      await a.locator('[data-layout="spotlight"]').waitFor();
      // The SFU switches layers at the next key frame: a moment to settle.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const pinned = (await framesOver(a, 4_000)).get(first.user.userId) ?? 0;
      expect(thumbnail).toBeGreaterThan(0);
      expect(pinned).toBeGreaterThan(1.5 * thumbnail);
    } finally {
      await cameras.close();
    }
  });

  it('lobby: the room’s name (a hostile one shown as text), who is in the call, the devices, and how to start (remembered)', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    await say(alice, roomId, '!call');
    await waitForCallWidget(bob, roomId);
    const { b } = await bobJoins(bob, roomId);
    await eventually('Bob in the call', async () => ((await phase(b)) === 'in_call' ? true : undefined), 30_000);

    // A room name of anyone's making: markup stays text, control characters go.
    await asUser(alice, 'PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.name/`, {
      name: '<img src=x onerror="document.title=1"> réunion\u0007\u0000',
    });
    const page = await pages.hostPage(alice, roomId);
    const a = await ours(page);
    await a.getByRole('heading', { name: '<img src=x onerror="document.title=1"> réunion', exact: true }).waitFor({
      timeout: 30_000,
    });
    expect(await a.locator('img[src="x"]').count()).toBe(0);
    await eventually('Bob named in the lobby', async () =>
      ((await a.locator('.who').textContent()) ?? '').includes('In the call:') ? true : undefined,
    );
    expect(await a.locator('.who').getAttribute('data-in-call')).toBe('1');
    expect(await a.getByRole('combobox', { name: 'Camera' }).locator('option').allTextContents()).toEqual([
      'fake_device_0',
      'fake_device_1',
      'fake_device_2',
    ]);
    expect(await a.getByRole('combobox', { name: 'Microphone' }).locator('option').count()).toBe(3);

    // Start with the microphone off: in the call it is off; the next lobby starts that way too.
    await a.getByRole('group', { name: 'Join with' }).getByRole('button', { name: 'Mute microphone' }).click();
    await a.getByRole('button', { name: 'Join the call' }).click();
    await a.getByRole('button', { name: 'Unmute microphone' }).waitFor({ timeout: 30_000 });
    await a.getByRole('button', { name: 'Leave' }).click();
    await page.reload();
    const again = await ours(page);
    await again
      .getByRole('group', { name: 'Join with' })
      .getByRole('button', { name: 'Unmute microphone' })
      .waitFor({ timeout: 30_000 });
  });

  it('sounds: someone joining, raising a hand, leaving; none once silenced in the settings', async () => {
    const { bob, roomId, a } = await aliceInCall();
    expect(await soundsPlayed(a)).toEqual([]);
    const { page: bobPage, b } = await bobJoins(bob, roomId);
    await eventually('the join sound', async () => ((await soundsPlayed(a)).includes('join') ? true : undefined));
    await b.getByRole('button', { name: 'Raise hand' }).click({ timeout: 30_000 });
    await eventually('the hand sound', async () => ((await soundsPlayed(a)).includes('hand') ? true : undefined));
    await b.getByRole('button', { name: 'Leave' }).click();
    await eventually('the leave sound', async () => ((await soundsPlayed(a)).includes('leave') ? true : undefined));
    // The files are served beside the widget.
    const res = await a.evaluate<{ status: number; type: string }>(
      `fetch('sounds/join.wav').then((r) => ({ status: r.status, type: r.headers.get('content-type') }))`,
    );
    expect(res).toMatchObject({ status: 200 });

    await a.getByRole('button', { name: 'Settings' }).click();
    await a.getByRole('switch', { name: 'Sounds when someone joins, leaves or raises a hand' }).uncheck();
    await a.getByRole('button', { name: 'Close' }).click();
    const before = (await soundsPlayed(a)).length;
    await b.getByRole('button', { name: 'Join again' }).click();
    await oursSeesAndHears(a, bob);
    expect((await soundsPlayed(a)).length).toBe(before);
    await bobPage.close();
  });
});

/**
 * Headless Debian Chromium for browser tests: fake camera and microphone, no background
 * networking (this machine reaches nothing outside loopback), a fresh profile per launch.
 */
import { createRequire } from 'node:module';

import { chromium, type Browser, type Frame } from 'playwright-core';

import { chromiumPath } from '../install.ts';

const launchOptions = {
  executablePath: chromiumPath,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--use-fake-ui-for-media-stream',
    // Three cameras (the second a depth camera, as Chromium fakes them), three microphones and
    // speakers: a laptop with a webcam and a headset.
    '--use-fake-device-for-media-stream=device-count=3',
    '--autoplay-policy=no-user-gesture-required',
  ],
};

export function launchBrowser(): Promise<Browser> {
  return chromium.launch(launchOptions);
}

/** A browser together with the pid of its main process, the root of its own process tree. */
export interface MeasuredBrowser {
  browser: Browser;
  pid: number;
  close(): Promise<void>;
}

/**
 * The same browser, launched so that its process can be measured: playwright's `Browser` hides
 * its process, a browser server shows it, and we connect to that server.
 */
export async function launchMeasuredBrowser(): Promise<MeasuredBrowser> {
  const server = await chromium.launchServer(launchOptions);
  const pid = server.process().pid;
  if (pid === undefined) {
    await server.close();
    throw new Error('Chromium started without a process id');
  }
  const browser = await chromium.connect(server.wsEndpoint());
  return {
    browser,
    pid,
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}

/** How the host page loads a call app, as Element Web does, with call-app parameters (intent…). */
export type CallApp = { app: 'causerie'; url?: string } | { app: 'element-call'; url: string };

/**
 * The test host page for a user in a room (the access token stays in the fragment): the room's
 * widget, or a call app loaded as Element Web loads it.
 */
export function hostPageUrl(
  serviceUrl: string,
  user: { userId: string; accessToken: string; deviceId: string; hs: { url: string } },
  roomId: string,
  lang = 'en',
  callApp?: CallApp & { params?: Record<string, string> },
  theme?: 'light' | 'dark',
): string {
  const fragment = new URLSearchParams({
    hs: user.hs.url,
    token: user.accessToken,
    user: user.userId,
    device: user.deviceId,
    room: roomId,
    lang,
  });
  if (theme !== undefined) fragment.set('theme', theme);
  if (callApp !== undefined) {
    fragment.set('callapp', callApp.app);
    if (callApp.url !== undefined) fragment.set('app', callApp.url);
    for (const [k, v] of Object.entries(callApp.params ?? {})) fragment.set(k, v);
  }
  return `${serviceUrl}/dev/host/#${fragment.toString()}`;
}

/**
 * Facts about the videos and audios a page's call widget shows, looking through the widget's
 * shadow roots: per video, whether it is remote, its size and decoded frame count.
 */
export const mediaProbe = `(() => {
  const found = { videos: [], audios: [] };
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.tagName === 'VIDEO') found.videos.push({ identity: el.dataset.identity, user: el.dataset.user, hand: el.dataset.hand, reaction: el.dataset.reaction, remote: el.dataset.remote === 'true', source: el.dataset.source, waitingForKeys: el.dataset.waitingForKeys === 'true', width: el.videoWidth, frames: el.getVideoPlaybackQuality().totalVideoFrames });
      if (el.tagName === 'AUDIO') { const t = el.srcObject && el.srcObject.getAudioTracks()[0]; found.audios.push({ live: !!t && t.readyState === 'live' }); }
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  const app = document.querySelector('causerie-app');
  return { ...found, phase: app && app.dataset.phase, error: app && app.dataset.error, firstFrameMs: app && app.dataset.firstFrameMs };
})()`;

export interface MediaFacts {
  videos: {
    identity: string;
    user: string;
    hand: string;
    reaction: string;
    remote: boolean;
    source: string;
    /** Encrypted call: the tile waits for this participant's key (shows no video). */
    waitingForKeys: boolean;
    width: number;
    frames: number;
  }[];
  audios: { live: boolean }[];
  phase: string | undefined;
  error: string | undefined;
  firstFrameMs: string | undefined;
}

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** Serious and critical axe-core violations in a frame (WCAG 2 A/AA rules, colour contrast included). */
export async function axeViolations(frame: Frame): Promise<string[]> {
  await frame.addScriptTag({ path: axePath });
  const result = await frame.evaluate<{ violations: { id: string; impact: string | null; nodes: unknown[] }[] }>(
    `axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa'] } })`,
  );
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.nodes.length})`);
}

/**
 * What the browser tests share: one Chromium per test file, a fresh context per page (closed after
 * each test: pages stream media, and the next test needs the CPU), the test host page, our widget's
 * frame in it, and what that frame shows and plays.
 */
import type { Browser, BrowserContext, BrowserContextOptions, Frame, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';

import {
  hostPageUrl,
  launchBrowser,
  mediaProbe,
  type CallApp,
  type MediaFacts,
} from '../../scripts/stack/clients/browser.ts';
import { stackEnv } from '../../scripts/stack/clients/env.ts';
import { eventually, type TestUser } from '../../scripts/stack/clients/matrix.ts';

export interface Pages {
  /** A page in a context of its own (desktop size unless told). */
  newPage: (options?: BrowserContextOptions) => Promise<Page>;
  /** The test host page for `user` in `roomId`: the room's widget, or a call app as Element Web loads it. */
  hostPage: (
    user: TestUser,
    roomId: string,
    opts?: {
      lang?: string;
      callApp?: CallApp & { params?: Record<string, string> };
      options?: BrowserContextOptions;
      theme?: 'light' | 'dark';
    },
  ) => Promise<Page>;
}

/** Registers the file's browser and its per-test cleanup; call once at the top of a test file. */
export function browserPages(): Pages {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const c of contexts.splice(0)) await c.close();
  });
  const newPage = async (options: BrowserContextOptions = {}): Promise<Page> => {
    if (browser === undefined) throw new Error('the browser is not started yet');
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, ...options });
    contexts.push(context);
    return context.newPage();
  };
  return {
    newPage,
    hostPage: async (user, roomId, opts = {}) => {
      const page = await newPage(opts.options);
      await page.goto(hostPageUrl(stackEnv().service.url, user, roomId, opts.lang ?? 'en', opts.callApp, opts.theme));
      return page;
    },
  };
}

/** Our widget's frame in a page. */
export const ours = (page: Page): Promise<Frame> =>
  eventually('the Causerie frame', () => Promise.resolve(page.frames().find((f) => f.url().includes('/widget/'))));

/** What our widget shows and plays. */
export const facts = (frame: Frame): Promise<MediaFacts> => frame.evaluate<MediaFacts>(mediaProbe);

/** Our widget shows `user`'s camera with decoded frames that keep coming, and plays live audio. */
export async function oursSeesAndHears(
  frame: Frame,
  user: Pick<TestUser, 'userId'>,
  timeoutMs = 30_000,
): Promise<void> {
  const remote = async (): Promise<MediaFacts['videos'][0] | undefined> =>
    (await facts(frame)).videos.find(
      (v) => v.remote && v.source === 'camera' && v.user === user.userId && v.width > 0 && v.frames > 0,
    );
  const first = await eventually(`decoded video of ${user.userId}`, remote, timeoutMs);
  await eventually('more decoded frames', async () => {
    const v = await remote();
    return v !== undefined && v.frames > first.frames + 5 ? v : undefined;
  });
  await eventually('live remote audio', async () =>
    (await facts(frame)).audios.some((a) => a.live) ? true : undefined,
  );
}

/** Sends a reaction from our widget's call controls (the Reactions menu, then the emoji). */
export async function react(frame: Frame, emoji: string): Promise<void> {
  await frame.getByRole('button', { name: 'Reactions' }).click();
  await frame.getByRole('menuitem', { name: `React ${emoji}` }).click();
}

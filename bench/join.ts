/**
 * Join latency in the browser: for each round, Alice (homeserver A) is in the call; Bob (homeserver
 * B, over federation) clicks Join in the widget; measured from that click to the first decoded
 * frame of Alice's video in Bob's widget (the widget records it). Headless Chromium with fake media,
 * two browser contexts on this 2-core machine, real stack.
 */
import type { Frame } from 'playwright-core';

import { hostPageUrl, launchBrowser, mediaProbe, type MediaFacts } from '../scripts/stack/clients/browser.ts';
import { roomWithPartner, say, waitForCallWidget } from '../scripts/stack/clients/calls.ts';
import { eventually } from '../scripts/stack/clients/matrix.ts';
import { up } from '../scripts/stack/index.ts';
import { percentile } from './load.ts';

export async function joinBench(rounds = 7): Promise<void> {
  const { env } = await up();
  const browser = await launchBrowser();
  const samples: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const { alice, bob, roomId } = await roomWithPartner();
      await say(alice, roomId, '!call');
      await waitForCallWidget(bob, roomId);
      const contexts = [];
      const frames: Frame[] = [];
      for (const user of [alice, bob]) {
        const context = await browser.newContext({ viewport: { width: 1000, height: 650 } });
        contexts.push(context);
        const page = await context.newPage();
        await page.goto(hostPageUrl(env.service.url, user, roomId));
        frames.push(
          await eventually('widget', () => Promise.resolve(page.frames().find((f) => f.url().includes('/widget/')))),
        );
      }
      const [a, b] = frames as [Frame, Frame];
      await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
      await eventually('Alice in the call', async () =>
        (await a.evaluate<MediaFacts>(mediaProbe)).videos.some((v) => !v.remote && v.frames > 10) ? true : undefined,
      );
      // Bob has had the lobby in front of him for a moment, as a person would.
      await b.getByRole('button', { name: 'Join the call' }).waitFor({ timeout: 30_000 });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await b.getByRole('button', { name: 'Join the call' }).click();
      const ms = await eventually(
        'Bob’s first frame',
        async () => {
          const f = await b.evaluate<MediaFacts>(mediaProbe);
          return f.firstFrameMs === undefined ? undefined : Number(f.firstFrameMs);
        },
        30_000,
      );
      samples.push(ms);
      for (const c of contexts) await c.close();
    }
  } finally {
    await browser.close();
  }
  const s = [...samples].sort((x, y) => x - y);
  console.log(
    `join → first remote video frame (partner on B joining Alice on A, ${s.length} rounds): median ${percentile(s, 50).toFixed(0)} ms, min ${(s[0] ?? NaN).toFixed(0)} ms, max ${(s.at(-1) ?? NaN).toFixed(0)} ms; samples ${samples.map((x) => x.toFixed(0)).join(', ')}`,
  );
}

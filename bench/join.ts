/**
 * Join latency in the browser, Causerie beside the real Element Call on the same run: for each
 * pairing and round, Alice (homeserver A) is in the call; Bob (homeserver B, over federation) has
 * the lobby in front of him for a moment, then clicks Join; measured in Bob's page from that click
 * to the first decoded frame of a remote video, by the same in-page watcher for both clients.
 * Pairings: Causerie joining Causerie, Causerie joining an Element Call user, Element Call joining
 * a Causerie user, Element Call joining Element Call; then the same four in an end-to-end
 * encrypted room (media keys exchanged as Olm to-device messages between the two homeservers; both
 * clients loaded as Element Web's call app, since a bot cannot read `!call` there). Headless
 * Chromium with fake media, two browser contexts on this 2-core machine, real stack.
 */
import type { Browser, Frame, Page } from 'playwright-core';

import { hostPageUrl, launchBrowser, type CallApp } from '../scripts/stack/clients/browser.ts';
import { roomWithPartner, say, waitForCallWidget } from '../scripts/stack/clients/calls.ts';
import { elementCallFacts, elementCallFrame } from '../scripts/stack/clients/element-call.ts';
import { eventually, type TestUser } from '../scripts/stack/clients/matrix.ts';
import { serveElementCall } from '../scripts/stack/element-call.ts';
import { up } from '../scripts/stack/index.ts';
import { percentile } from './load.ts';

type Client = 'causerie' | 'element-call';

interface Side {
  page: Page;
  frame: Frame;
  joinButton: string;
}

/**
 * Resolves with the milliseconds from the next click in this frame (the Join button) to the first
 * decoded remote video frame (looking through shadow roots), polling every 5 ms.
 */
const firstRemoteFrame = `new Promise((resolve) => {
  const remote = (v) => v.dataset.remote === 'true' || v.dataset.lkLocalParticipant === 'false';
  const seen = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.tagName === 'VIDEO' && remote(el) && el.getVideoPlaybackQuality().totalVideoFrames > 0) return true;
      if (el.shadowRoot && seen(el.shadowRoot)) return true;
    }
    return false;
  };
  document.addEventListener('click', (ev) => {
    const t0 = ev.timeStamp;
    const tick = () => (seen(document) ? resolve(performance.now() - t0) : setTimeout(tick, 5));
    tick();
  }, { capture: true, once: true });
})`;

async function open(
  browser: Browser,
  serviceUrl: string,
  ecUrl: string,
  client: Client,
  user: TestUser,
  roomId: string,
  asCallApp: boolean,
): Promise<Side> {
  // The pages read their homeserver's well-known for their transport (self-signed on the stack).
  const context = await browser.newContext({ viewport: { width: 1000, height: 650 }, ignoreHTTPSErrors: true });
  const page = await context.newPage();
  // Causerie as the room's widget (after !call), or as Element Web's call app.
  const app: CallApp | undefined =
    client === 'element-call' ? { app: 'element-call', url: ecUrl } : asCallApp ? { app: 'causerie' } : undefined;
  await page.goto(hostPageUrl(serviceUrl, user, roomId, 'en', app));
  const frame =
    client === 'element-call'
      ? await elementCallFrame(page)
      : await eventually('widget', () => Promise.resolve(page.frames().find((f) => f.url().includes('/widget/'))));
  return { page, frame, joinButton: client === 'element-call' ? 'Join call' : 'Join the call' };
}

async function localVideoFlowing(side: Side, client: Client): Promise<boolean> {
  if (client === 'element-call')
    return (await elementCallFacts(side.frame)).videos.some((v) => v.local && v.frames > 10);
  return side.frame.evaluate(
    `(() => { const walk = (r) => [...r.querySelectorAll('*')].some((el) => (el.tagName === 'VIDEO' && el.dataset.remote === 'false' && el.getVideoPlaybackQuality().totalVideoFrames > 10) || (el.shadowRoot && walk(el.shadowRoot))); return walk(document); })()`,
  );
}

async function pairing(
  browser: Browser,
  ecUrl: string,
  inCall: Client,
  joiner: Client,
  rounds: number,
  encrypted: boolean,
) {
  const { env } = await up();
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const { alice, bob, roomId } = await roomWithPartner({ encrypted });
    // A call Element Call started, or any call in an encrypted room, has no widget in the room:
    // Causerie comes as the call app.
    const asCallApp = inCall === 'element-call' || encrypted;
    if (!asCallApp) {
      await say(alice, roomId, '!call');
      await waitForCallWidget(bob, roomId);
    }
    const a = await open(browser, env.service.url, ecUrl, inCall, alice, roomId, asCallApp);
    await a.frame.getByRole('button', { name: a.joinButton }).click({ timeout: 30_000 });
    await eventually(
      'Alice in the call',
      async () => ((await localVideoFlowing(a, inCall)) ? true : undefined),
      30_000,
    );
    const b = await open(browser, env.service.url, ecUrl, joiner, bob, roomId, asCallApp);
    await b.frame.getByRole('button', { name: b.joinButton }).waitFor({ timeout: 30_000 });
    // Bob has had the lobby in front of him for a moment, as a person would.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const frame = b.frame.evaluate<number>(firstRemoteFrame);
    await b.frame.getByRole('button', { name: b.joinButton }).click();
    samples.push(
      await Promise.race([
        frame,
        new Promise<number>((_, reject) => {
          setTimeout(() => {
            reject(new Error('no remote frame in 30 s'));
          }, 30_000);
        }),
      ]),
    );
    for (const side of [a, b]) await side.page.context().close();
  }
  return samples;
}

const label: Record<Client, string> = { causerie: 'Causerie', 'element-call': 'Element Call' };

export async function joinBench(rounds = 5, kinds: boolean[] = [false, true], layout = ''): Promise<void> {
  const { env } = await up();
  const ec = await serveElementCall(env.service.url);
  const browser = await launchBrowser();
  const results: { name: string; median: number; encrypted: boolean }[] = [];
  try {
    for (const encrypted of kinds) {
      for (const [inCall, joiner] of [
        ['causerie', 'causerie'],
        ['element-call', 'causerie'],
        ['causerie', 'element-call'],
        ['element-call', 'element-call'],
      ] as const) {
        const samples = await pairing(browser, ec.url, inCall, joiner, rounds, encrypted);
        const s = [...samples].sort((x, y) => x - y);
        const name = `${label[joiner]} joining ${label[inCall]}${encrypted ? ', encrypted room' : ''}${layout === '' ? '' : `, ${layout}`}`;
        results.push({ name, median: percentile(s, 50), encrypted });
        console.log(
          `join → first remote video frame, ${name} (B joins A, ${s.length} rounds): median ${percentile(s, 50).toFixed(0)} ms, min ${(s[0] ?? NaN).toFixed(0)} ms, max ${(s.at(-1) ?? NaN).toFixed(0)} ms; samples ${samples.map((x) => x.toFixed(0)).join(', ')}`,
        );
      }
    }
  } finally {
    await browser.close();
    await ec.close();
  }
  for (const encrypted of kinds) {
    const set = results.filter((r) => r.encrypted === encrypted);
    const ecec = set.at(-1)?.median ?? NaN;
    for (const r of set.slice(0, -1))
      console.log(`  ${r.name}: ${(r.median / ecec).toFixed(2)}x Element Call joining Element Call`);
  }
}

/**
 * Reading the real Element Call in a page, for interop tests and benchmarks: its frame in the test
 * host page, and what it shows (per video: local or remote, source, size, decoded frames, the name
 * on its tile and the hand and reactions it shows; per audio element: whether it plays a live track).
 */
import type { Frame, Page } from 'playwright-core';

import { elementCallUrl } from '../element-call.ts';
import { eventually } from './matrix.ts';

export interface ElementCallFacts {
  /** Per video: `indicators` are the hand (✋) and reaction emojis its tile shows. */
  videos: { local: boolean; source: string; width: number; frames: number; name: string; indicators: string[] }[];
  audios: { live: boolean; playing: boolean }[];
}

export const elementCallProbe = `(() => ({
  videos: [...document.querySelectorAll('video')].map((v) => ({
    local: v.dataset.lkLocalParticipant === 'true',
    source: v.dataset.lkSource ?? '',
    width: v.videoWidth,
    frames: v.getVideoPlaybackQuality().totalVideoFrames,
    name: (v.closest('[data-testid="videoTile"]')?.querySelector('[data-testid="name_tag"]')?.textContent ?? '').trim(),
    indicators: [...(v.closest('[data-testid="videoTile"]')?.querySelectorAll('[aria-label="Reaction"]') ?? [])].map((e) => e.textContent),
  })),
  audios: [...document.querySelectorAll('audio')].map((a) => {
    const t = a.srcObject && a.srcObject.getAudioTracks()[0];
    return { live: !!t && t.readyState === 'live', playing: !a.paused };
  }),
}))()`;

export function elementCallFrame(page: Page): Promise<Frame> {
  return eventually('the Element Call frame', () =>
    Promise.resolve(page.frames().find((f) => f.url().startsWith(elementCallUrl))),
  );
}

export const elementCallFacts = (frame: Frame): Promise<ElementCallFacts> =>
  frame.evaluate<ElementCallFacts>(elementCallProbe);

/** Waits until Element Call shows a remote camera named `name` whose decoded frames keep coming. */
export async function elementCallSeesVideoOf(frame: Frame, name: string): Promise<ElementCallFacts['videos'][0]> {
  const remote = async (): Promise<ElementCallFacts['videos'][0] | undefined> =>
    (await elementCallFacts(frame)).videos.find(
      (v) => !v.local && v.source === 'camera' && v.name.includes(name) && v.width > 0 && v.frames > 0,
    );
  const first = await eventually(`Element Call showing ${name}'s video`, remote, 30_000);
  return eventually(
    `more decoded frames of ${name} in Element Call`,
    async () => {
      const v = await remote();
      return v !== undefined && v.frames > first.frames + 5 ? v : undefined;
    },
    15_000,
  );
}

/** Waits until Element Call's tile named `name` shows exactly these indicators (✋, reaction emojis). */
export function elementCallShows(
  frame: Frame,
  name: string,
  want: (indicators: string[]) => boolean,
): Promise<string[]> {
  return eventually(`Element Call's tile of ${name} showing the expected hand and reactions`, async () => {
    const v = (await elementCallFacts(frame)).videos.find((x) => x.source === 'camera' && x.name.includes(name));
    return v !== undefined && want(v.indicators) ? v.indicators : undefined;
  });
}

/**
 * What one tab in a busy call costs, Causerie beside the real Element Call in the same call over
 * the same window. Alice (homeserver A) starts a call with `!call`; 8 headless publishers join it
 * (each with a MatrixRTC membership, all in one headless Chromium page publishing a canvas camera of
 * 640×360 at 30 fps as Chrome publishes a real one: VP8 simulcast 320×180 and 640×360, three
 * temporal layers each, dynacast on); Alice's page runs our widget
 * in one Chromium, Bob's (homeserver B, over federation) runs Element Call in another, both joined
 * with the fake camera and microphone in a 1280×720 viewport. Once each tab decodes all 8
 * publishers, after a warm-up, over 30 s for both at once: the CPU time of each Chromium's whole
 * process tree (/proc), the bytes received by every RTCPeerConnection of every frame of the page
 * (an init script keeps them; transport stats), the decoded video frames per second and the sizes
 * of the remote videos (the simulcast layers each client asked for); beside them what the tab sent
 * and which layers of its own camera it encoded, which the CPU figure includes. The CPU of the
 * publishers, the SFU and the machine is printed too: on this 2-core machine they share the tabs'
 * cores.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Frame, Page } from 'playwright-core';

import {
  hostPageUrl,
  launchMeasuredBrowser,
  mediaProbe,
  type MeasuredBrowser,
  type MediaFacts,
} from '../scripts/stack/clients/browser.ts';
import { publishCameras, type CameraPublishers } from '../scripts/stack/clients/camera-publishers.ts';
import { roomWithPartner, say, waitForCallWidget } from '../scripts/stack/clients/calls.ts';
import { elementCallFacts, elementCallFrame } from '../scripts/stack/clients/element-call.ts';
import { eventually } from '../scripts/stack/clients/matrix.ts';
import { serveElementCall } from '../scripts/stack/element-call.ts';
import { up } from '../scripts/stack/index.ts';
import { runningPid } from '../scripts/stack/processes.ts';
import { machineBusySeconds, treeCpuByKind, treeCpuSeconds } from './process-cpu.ts';

const PUBLISHERS = 8;
// A webcam's usual 30 fps, at 640×360 so that eight encoders leave this 2-core machine room for the tabs.
const CAMERA = { width: 640, height: 360, fps: 30 };
const WARM_UP_MS = 5_000;
const WINDOW_MS = 30_000;

type Client = 'causerie' | 'element-call';
const label: Record<Client, string> = { causerie: 'Causerie', 'element-call': 'Element Call' };

interface Tab {
  client: Client;
  measured: MeasuredBrowser;
  page: Page;
  frame: Frame;
}

/**
 * Keeps every RTCPeerConnection a frame creates, for reading their stats later. Runs before the
 * frame's own scripts, so the call apps only ever see the wrapper.
 */
const keepPeerConnections = `(() => {
  const Native = window.RTCPeerConnection;
  if (Native === undefined || window.__benchPeerConnections !== undefined) return;
  const peers = [];
  Object.defineProperty(window, '__benchPeerConnections', { value: peers });
  window.RTCPeerConnection = new Proxy(Native, {
    construct(target, args, newTarget) {
      const pc = Reflect.construct(target, args, newTarget);
      peers.push(pc);
      return pc;
    },
  });
})()`;

/** Per video stream: its current size and frames so far (decoded when inbound, encoded when outbound). */
interface VideoStream {
  id: string;
  width: number;
  height: number;
  frames: number;
}

interface PeerStats {
  index: number;
  closed: boolean;
  received: number;
  sent: number;
  inbound: VideoStream[];
  /** The tab's own camera, one stream per simulcast layer. */
  outbound: VideoStream[];
  audioSent: number;
}

/** Stats of the frame's kept peer connections: bytes from transport stats (else the selected pairs). */
const peerStatsProbe = `(async () => Promise.all((window.__benchPeerConnections ?? []).map(async (pc, index) => {
  if (pc.signalingState === 'closed') return { index, closed: true, received: 0, sent: 0, inbound: [], outbound: [], audioSent: 0 };
  const stats = [...(await pc.getStats()).values()];
  const transports = stats.filter((s) => s.type === 'transport');
  const carriers = transports.length > 0 ? transports : stats.filter((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
  const videos = (type, counter) => stats
    .filter((s) => s.type === type && s.kind === 'video')
    .map((s) => ({ id: s.id, width: s.frameWidth ?? 0, height: s.frameHeight ?? 0, frames: s[counter] ?? 0 }));
  return {
    index,
    closed: false,
    received: carriers.reduce((n, s) => n + (s.bytesReceived ?? 0), 0),
    sent: carriers.reduce((n, s) => n + (s.bytesSent ?? 0), 0),
    inbound: videos('inbound-rtp', 'framesDecoded'),
    outbound: videos('outbound-rtp', 'framesEncoded'),
    audioSent: stats.filter((s) => s.type === 'outbound-rtp' && s.kind === 'audio').reduce((n, s) => n + (s.bytesSent ?? 0), 0),
  };
})))()`;

/** The peer connections of every frame of a page, keyed by frame and creation order. */
async function pageStats(page: Page): Promise<Map<string, PeerStats>> {
  const perFrame = await Promise.all(
    page.frames().map(async (f) => {
      const peers = await f.evaluate<PeerStats[]>(peerStatsProbe);
      return peers.map((p) => [`${f.name()}|${f.url()}|${p.index}`, p] as const);
    }),
  );
  return new Map(perFrame.flat());
}

interface TabFigures {
  received: number;
  sent: number;
  audioSent: number;
  decodedFps: number;
  /** "width×height ×count" of the remote videos that decoded frames in the window. */
  receivedLayers: string;
  /** The same for the tab's own camera layers that were encoded in the window. */
  sentLayers: string;
  /** Peer connections closed during the window: their bytes are missing from the figures. */
  closedDuring: number;
}

/** Frames each stream gained in the window, and a "width×height ×count" tally of those that did. */
function framesInWindow(after: VideoStream[], before: VideoStream[], sizes: Map<string, number>): number {
  let frames = 0;
  for (const v of after) {
    const gained = v.frames - (before.find((b) => b.id === v.id)?.frames ?? 0);
    if (gained <= 0) continue;
    frames += gained;
    // A layer dynacast paused before the window's end no longer reports its size.
    const size = v.width === 0 ? 'paused' : `${v.width}×${v.height}`;
    sizes.set(size, (sizes.get(size) ?? 0) + 1);
  }
  return frames;
}

const tally = (sizes: Map<string, number>): string =>
  [...sizes]
    .sort(([, a], [, b]) => b - a)
    .map(([size, n]) => `${size} ×${n}`)
    .join(', ') || 'none';

function windowFigures(start: Map<string, PeerStats>, end: Map<string, PeerStats>, seconds: number): TabFigures {
  let received = 0;
  let sent = 0;
  let audioSent = 0;
  let decoded = 0;
  let closedDuring = 0;
  const inSizes = new Map<string, number>();
  const outSizes = new Map<string, number>();
  for (const [key, before] of start) if (!before.closed && end.get(key)?.closed !== false) closedDuring++;
  for (const [key, after] of end) {
    if (after.closed) continue;
    const before = start.get(key);
    received += after.received - (before?.received ?? 0);
    sent += after.sent - (before?.sent ?? 0);
    audioSent += after.audioSent - (before?.audioSent ?? 0);
    decoded += framesInWindow(after.inbound, before?.inbound ?? [], inSizes);
    framesInWindow(after.outbound, before?.outbound ?? [], outSizes);
  }
  return {
    received,
    sent,
    audioSent,
    decodedFps: decoded / seconds,
    receivedLayers: tally(inSizes),
    sentLayers: tally(outSizes),
    closedDuring,
  };
}

async function openTab(client: Client, url: string, opened: MeasuredBrowser[]): Promise<Tab> {
  const measured = await launchMeasuredBrowser();
  opened.push(measured);
  // The pages read their homeserver's well-known for their transport (self-signed on the stack).
  const context = await measured.browser.newContext({
    viewport: { width: 1280, height: 720 },
    ignoreHTTPSErrors: true,
  });
  await context.addInitScript(keepPeerConnections);
  const page = await context.newPage();
  await page.goto(url);
  const frame =
    client === 'element-call'
      ? await elementCallFrame(page)
      : await eventually('the widget frame', () =>
          Promise.resolve(page.frames().find((f) => f.url().includes('/widget/'))),
        );
  // Like for like: Element Call joins here without publishing a microphone, so ours joins muted
  // (no microphone captured, processed or sent) — each tab sends its camera only.
  if (client === 'causerie')
    await frame
      .getByRole('group', { name: 'Join with' })
      .getByRole('button', { name: 'Mute microphone' })
      .click({ timeout: 30_000 });
  await frame
    .getByRole('button', { name: client === 'element-call' ? 'Join call' : 'Join the call' })
    .click({ timeout: 30_000 });
  return { client, measured, page, frame };
}

/** Decoded frames so far of each publisher's camera the tab shows, by publisher name. */
async function publisherFrames(tab: Tab, cameras: CameraPublishers): Promise<Map<string, number>> {
  const shown = new Map<string, number>();
  if (tab.client === 'element-call') {
    for (const v of (await elementCallFacts(tab.frame)).videos) {
      const p = cameras.publishers.find((x) => x.name === v.name);
      if (p !== undefined && !v.local && v.source === 'camera' && v.width > 0) shown.set(p.name, v.frames);
    }
  } else {
    for (const v of (await tab.frame.evaluate<MediaFacts>(mediaProbe)).videos) {
      const p = cameras.publishers.find((x) => x.user.userId === v.user);
      if (p !== undefined && v.remote && v.source === 'camera' && v.width > 0) shown.set(p.name, v.frames);
    }
  }
  return shown;
}

/** Waits until the tab shows every publisher's camera with decoded frames that keep coming. */
async function allPublishersDecoding(tab: Tab, cameras: CameraPublishers): Promise<void> {
  const decodingPast = async (floor: Map<string, number>): Promise<Map<string, number> | undefined> => {
    const shown = await publisherFrames(tab, cameras);
    const missing = cameras.publishers.filter((p) => (shown.get(p.name) ?? 0) <= (floor.get(p.name) ?? 0));
    // Thrown, not returned: `eventually` then names what was still missing when it gave up.
    if (missing.length > 0) throw new Error(`not decoding: ${missing.map((p) => p.name).join(', ')}`);
    return shown;
  };
  const first = await eventually(`${label[tab.client]} decoding all publishers`, () => decodingPast(new Map()), 60_000);
  await eventually(
    `${label[tab.client]} decoding more frames of all publishers`,
    () => decodingPast(new Map([...first].map(([name, frames]) => [name, frames + 5]))),
    15_000,
  );
}

/** CPU seconds so far: each tab's browser tree, the publishers' browser, the SFU, the machine. */
function cpuNow(tabs: Tab[], publishersPid: number, sfuPid: number | undefined) {
  return {
    tabs: tabs.map((t) => treeCpuSeconds(t.measured.pid)),
    self: treeCpuSeconds(publishersPid),
    sfu: sfuPid === undefined ? NaN : treeCpuSeconds(sfuPid),
    machine: machineBusySeconds(),
  };
}

/**
 * The page renderer's main-thread times since `start` (Chrome DevTools Performance metrics,
 * seconds): one session kept over the window, its counters start when it is enabled.
 */
async function mainThread(page: Page): Promise<() => Promise<Map<string, number>>> {
  const session = await page.context().newCDPSession(page);
  await session.send('Performance.enable');
  return async () => {
    const { metrics } = await session.send('Performance.getMetrics');
    await session.detach();
    return new Map(metrics.map((m) => [m.name, m.value]));
  };
}

const pct = (cpuSeconds: number, seconds: number): string => `${((100 * cpuSeconds) / seconds).toFixed(0)}%`;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const mbits = (bytes: number, seconds: number): string => `${((8 * bytes) / seconds / 1e6).toFixed(2)} Mbit/s`;

export async function callCostBench(): Promise<void> {
  const { env } = await up();
  const ec = await serveElementCall(env.service.url);
  const browsers: MeasuredBrowser[] = [];
  let cameras: CameraPublishers | undefined;
  try {
    const { alice, bob, roomId } = await roomWithPartner();
    await say(alice, roomId, '!call');
    await waitForCallWidget(bob, roomId);
    cameras = await publishCameras(alice, roomId, PUBLISHERS, CAMERA);
    const tabs = [
      await openTab('causerie', hostPageUrl(env.service.url, alice, roomId, 'en'), browsers),
      await openTab(
        'element-call',
        hostPageUrl(env.service.url, bob, roomId, 'en', { app: 'element-call', url: ec.url }),
        browsers,
      ),
    ];
    const withCameras = cameras;
    await Promise.all(tabs.map((t) => allPublishersDecoding(t, withCameras)));
    await sleep(WARM_UP_MS);

    const sfuPid = runningPid('livekit');
    const t0 = performance.now();
    const cpu0 = cpuNow(tabs, withCameras.pid, sfuPid);
    const kinds0 = tabs.map((t) => treeCpuByKind(t.measured.pid));
    const mainSince = await Promise.all(tabs.map((t) => mainThread(t.page)));
    const stats0 = await Promise.all(tabs.map((t) => pageStats(t.page)));
    await sleep(WINDOW_MS);
    const cpu1 = cpuNow(tabs, withCameras.pid, sfuPid);
    const kinds1 = tabs.map((t) => treeCpuByKind(t.measured.pid));
    const main1 = await Promise.all(mainSince.map((read) => read()));
    const stats1 = await Promise.all(tabs.map((t) => pageStats(t.page)));
    const seconds = (performance.now() - t0) / 1000;

    const results = tabs.map((tab, i) => {
      const cpu = (cpu1.tabs[i] ?? NaN) - (cpu0.tabs[i] ?? NaN);
      const figures = windowFigures(
        stats0[i] ?? new Map<string, PeerStats>(),
        stats1[i] ?? new Map<string, PeerStats>(),
        seconds,
      );
      const who = tab.client === 'causerie' ? 'Alice on A' : 'Bob on B, over federation';
      console.log(
        `call cost, ${label[tab.client]} (${who}), ${PUBLISHERS} publishers, ${seconds.toFixed(1)} s: CPU ${cpu.toFixed(1)} s (${pct(cpu, seconds)} of one core); received ${mb(figures.received)} (${mbits(figures.received, seconds)}); decoded ${figures.decodedFps.toFixed(0)} video frames/s; remote videos ${figures.receivedLayers}; sent ${mb(figures.sent)} (audio ${mb(figures.audioSent)}), own camera layers ${figures.sentLayers}${figures.closedDuring > 0 ? `; ${figures.closedDuring} peer connection(s) closed in the window, not counted` : ''}`,
      );
      // Where the tab's CPU went: by Chromium process, and the page's main thread (scripts, style, layout).
      const byKind = [...(kinds1[i] ?? new Map<string, number>())]
        .map(([kind, total]): [string, number] => [kind, total - (kinds0[i]?.get(kind) ?? 0)])
        .filter(([, used]) => used >= 0.05)
        .sort(([, a], [, b]) => b - a)
        .map(([kind, used]) => `${kind} ${used.toFixed(1)} s`)
        .join(', ');
      const main = (name: string): string => (main1[i]?.get(name) ?? 0).toFixed(1);
      console.log(
        `  ${label[tab.client]}'s tab: ${byKind}; main thread busy ${main('TaskDuration')} s (scripts ${main('ScriptDuration')} s, style ${main('RecalcStyleDuration')} s, layout ${main('LayoutDuration')} s)`,
      );
      return { cpu, received: figures.received };
    });
    const self = cpu1.self - cpu0.self;
    const sfu = cpu1.sfu - cpu0.sfu;
    const machine = cpu1.machine - cpu0.machine;
    console.log(
      `  beside them: the publishers' browser (${PUBLISHERS} cameras of ${CAMERA.width}×${CAMERA.height} at ${CAMERA.fps} fps, simulcast) CPU ${self.toFixed(1)} s (${pct(self, seconds)} of one core); SFU ${sfu.toFixed(1)} s (${pct(sfu, seconds)}); machine busy ${pct(machine, seconds * availableParallelism())} of ${availableParallelism()} cores`,
    );
    const [ours, theirs] = results;
    if (ours !== undefined && theirs !== undefined)
      console.log(
        `Causerie / Element Call: CPU ${(ours.cpu / theirs.cpu).toFixed(2)}, bytes ${(ours.received / theirs.received).toFixed(2)}`,
      );
  } finally {
    for (const b of browsers) await b.close();
    await cameras?.close();
    await ec.close();
  }
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchBrowser } from '../../scripts/stack/clients/browser.ts';

const page = `<!doctype html><html><body><video autoplay muted playsinline></video><canvas width="64" height="48"></canvas></body></html>`;

let server: Server;
let browser: Browser;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser.close();
  await new Promise((resolve) => server.close(resolve));
});

describe('headless Chromium with fake media', () => {
  it('a page on loopback gets a live camera track that draws non-black frames, and a microphone', async () => {
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const result = await tab.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
      const [video] = stream.getVideoTracks();
      const [audio] = stream.getAudioTracks();
      const el = document.querySelector('video');
      const canvas = document.querySelector('canvas');
      const ctx = canvas?.getContext('2d');
      if (!el || !canvas || !ctx) throw new Error('test page is missing its video or canvas');
      el.srcObject = stream;
      await new Promise<void>((resolve) => {
        el.requestVideoFrameCallback(() => {
          resolve();
        });
      });
      ctx.drawImage(el, 0, 0, canvas.width, canvas.height);
      const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let lit = 0;
      for (let i = 0; i < pixels.length; i += 4)
        if ((pixels[i] ?? 0) + (pixels[i + 1] ?? 0) + (pixels[i + 2] ?? 0) > 60) lit++;
      return {
        secure: window.isSecureContext,
        videoState: video?.readyState,
        audioState: audio?.readyState,
        width: el.videoWidth,
        height: el.videoHeight,
        lit,
      };
    });
    expect(result.secure).toBe(true);
    expect(result.videoState).toBe('live');
    expect(result.audioState).toBe('live');
    expect(result.width).toBe(640);
    expect(result.height).toBe(480);
    expect(result.lit).toBeGreaterThan(100);
  });
});

/**
 * Headless Debian Chromium for browser tests: fake camera and microphone, no background
 * networking (this machine reaches nothing outside loopback), a fresh profile per launch.
 */
import { chromium, type Browser } from 'playwright-core';

import { chromiumPath } from '../../scripts/stack/install.ts';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

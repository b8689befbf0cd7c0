/**
 * Standalone mode: a partner without a Causerie-enabled client opens the shared call link, signs in
 * on their own homeserver (found from their Matrix ID), and joins the call.
 */
import type { Browser, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { hostPageUrl, launchBrowser, mediaProbe, type MediaFacts } from '../../scripts/stack/clients/browser.ts';
import { roomWithPartner, say } from '../../scripts/stack/clients/calls.ts';
import { asUser, eventually, invite, registerUser } from '../../scripts/stack/clients/matrix.ts';
import { homeserver, stackEnv } from '../../scripts/stack/clients/env.ts';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser.close();
});

describe('standalone mode', () => {
  it('an invited partner on B signs in with their own account from the shared link and joins the call', async () => {
    const { alice, roomId } = await roomWithPartner();
    await say(alice, roomId, '!call');
    const carol = await registerUser('b');
    await invite(alice, roomId, carol.userId);

    // Alice is in the call from her Matrix client.
    const aliceContext = await browser.newContext();
    const alicePage = await aliceContext.newPage();
    await alicePage.goto(hostPageUrl(stackEnv().service.url, alice, roomId));
    const aliceFrame = await eventually('Alice’s widget', () =>
      Promise.resolve(alicePage.frames().find((f) => f.url().includes('/widget/'))),
    );
    await aliceFrame.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });

    // Carol opens the link in a plain browser (the stack's test homeservers use a self-signed certificate).
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page: Page = await context.newPage();
    await page.goto(
      `${stackEnv().service.url}/widget/?roomId=${encodeURIComponent(roomId)}&via=${encodeURIComponent(homeserver('a').server_name)}&lang=en`,
    );
    const frame: Frame = page.mainFrame();

    await frame.getByLabel('Matrix ID').fill(carol.userId);
    await frame.getByLabel('Password').fill('not-her-password');
    await frame.getByRole('button', { name: 'Sign in' }).click();
    await frame.getByRole('alert').getByText('Wrong Matrix ID or password.').waitFor({ timeout: 15_000 });

    await frame.getByLabel('Password').fill(carol.password);
    await frame.getByRole('button', { name: 'Sign in' }).click();
    await frame.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    const seen = await eventually(
      'Alice’s video in Carol’s browser',
      async () =>
        (await frame.evaluate<MediaFacts>(mediaProbe)).videos.find(
          (v) => v.remote && v.user === alice.userId && v.width > 0 && v.frames > 0,
        ),
      30_000,
    );
    expect(seen.width).toBeGreaterThan(0);
    // Signing in accepted the invite: Carol is joined on A's side.
    expect(
      (
        await asUser<{ membership: string }>(
          alice,
          'GET',
          `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.member/${encodeURIComponent(carol.userId)}`,
        )
      ).membership,
    ).toBe('join');
    await context.close();
    await aliceContext.close();
  });

  it('in an encrypted room the page becomes a Matrix device of its own: keys cross as Olm to-device messages with Alice’s client and each decodes the other', async () => {
    const { alice, roomId } = await roomWithPartner({ encrypted: true });
    const carol = await registerUser('b');
    await invite(alice, roomId, carol.userId);

    const aliceContext = await browser.newContext();
    const alicePage = await aliceContext.newPage();
    await alicePage.goto(hostPageUrl(stackEnv().service.url, alice, roomId, 'en', { app: 'causerie' }));
    const aliceFrame = await eventually('Alice’s widget', () =>
      Promise.resolve(alicePage.frames().find((f) => f.url().includes('/widget/'))),
    );
    await aliceFrame.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });

    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page: Page = await context.newPage();
    await page.goto(
      `${stackEnv().service.url}/widget/?roomId=${encodeURIComponent(roomId)}&via=${encodeURIComponent(homeserver('a').server_name)}&lang=en`,
    );
    const frame: Frame = page.mainFrame();
    await frame.getByLabel('Matrix ID').fill(carol.userId);
    await frame.getByLabel('Password').fill(carol.password);
    await frame.getByRole('button', { name: 'Sign in' }).click();
    await frame.getByRole('button', { name: 'Join the call' }).click({ timeout: 60_000 });

    const decoded = (f: Frame, who: string) => async () =>
      (await f.evaluate<MediaFacts>(mediaProbe)).videos.find(
        (v) => v.remote && v.user === who && !v.waitingForKeys && v.width > 0 && v.frames > 5,
      );
    await eventually('Alice’s video decrypted in Carol’s page', decoded(frame, alice.userId), 40_000);
    await eventually('Carol’s video decrypted on Alice’s side', decoded(aliceFrame, carol.userId), 40_000);
    await frame.getByText('End-to-end encrypted').waitFor({ timeout: 5_000 });
    // Carol's page is a device of her own, with published keys, and her key reached Alice by Olm.
    const devices = await asUser<{ devices: { device_id: string }[] }>(carol, 'GET', '/_matrix/client/v3/devices');
    const pageDevice = devices.devices.map((d) => d.device_id).find((d) => d !== carol.deviceId);
    expect(pageDevice).toBeDefined();
    const received = await alicePage.evaluate(
      () =>
        (
          window as unknown as {
            causerieToDevice: { type: string; sender: string; encrypted: boolean; senderDevice?: string }[];
          }
        ).causerieToDevice,
    );
    expect(
      received.some(
        (m) =>
          m.type === 'io.element.call.encryption_keys' &&
          m.sender === carol.userId &&
          m.encrypted &&
          m.senderDevice === pageDevice,
      ),
    ).toBe(true);
    await context.close();
    await aliceContext.close();
  });
});

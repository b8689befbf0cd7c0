/**
 * Standalone mode: a partner without a Causerie-enabled client opens the shared call link, signs in
 * on their own homeserver (found from their Matrix ID), and joins the call.
 */
import type { Frame } from 'playwright-core';
import { describe, expect, it } from 'vitest';

import type { CallApp } from '../../scripts/stack/clients/browser.ts';
import { roomWithPartner, say } from '../../scripts/stack/clients/calls.ts';
import { asUser, eventually, invite, registerUser, type TestUser } from '../../scripts/stack/clients/matrix.ts';
import { homeserver, stackEnv } from '../../scripts/stack/clients/env.ts';
import { browserPages, facts, ours } from './pages.ts';

const pages = browserPages();

/** Alice joins the call from her Matrix client (the room's widget, or Causerie as its call app). */
async function aliceInCall(alice: TestUser, roomId: string, callApp?: CallApp): Promise<Frame> {
  const frame = await ours(await pages.hostPage(alice, roomId, callApp === undefined ? {} : { callApp }));
  await frame.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
  return frame;
}

/** The shared link opened in a plain browser (the stack's homeservers have a self-signed certificate). */
async function openLink(roomId: string): Promise<Frame> {
  const page = await pages.newPage({ ignoreHTTPSErrors: true });
  await page.goto(
    `${stackEnv().service.url}/widget/?roomId=${encodeURIComponent(roomId)}&via=${encodeURIComponent(homeserver('a').server_name)}&lang=en`,
  );
  return page.mainFrame();
}

async function signIn(frame: Frame, user: TestUser, password = user.password): Promise<void> {
  await frame.getByLabel('Matrix ID').fill(user.userId);
  await frame.getByLabel('Password').fill(password);
  await frame.getByRole('button', { name: 'Sign in' }).click();
}

describe('standalone mode', () => {
  it('an invited partner on B signs in with their own account from the shared link and joins the call', async () => {
    const { alice, roomId } = await roomWithPartner();
    await say(alice, roomId, '!call');
    const carol = await registerUser('b');
    await invite(alice, roomId, carol.userId);

    // Alice is in the call from her Matrix client; Carol opens the link in a plain browser.
    await aliceInCall(alice, roomId);
    const frame = await openLink(roomId);
    await signIn(frame, carol, 'not-her-password');
    await frame.getByRole('alert').getByText('Wrong Matrix ID or password.').waitFor({ timeout: 15_000 });
    await signIn(frame, carol);
    await frame.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    const seen = await eventually(
      'Alice’s video in Carol’s browser',
      async () =>
        (await facts(frame)).videos.find((v) => v.remote && v.user === alice.userId && v.width > 0 && v.frames > 0),
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
  });

  it('in an encrypted room the page becomes a Matrix device of its own: keys cross as Olm to-device messages with Alice’s client and each decodes the other', async () => {
    const { alice, roomId } = await roomWithPartner({ encrypted: true });
    const carol = await registerUser('b');
    await invite(alice, roomId, carol.userId);

    const aliceFrame = await aliceInCall(alice, roomId, { app: 'causerie' });
    const frame = await openLink(roomId);
    await signIn(frame, carol);
    await frame.getByRole('button', { name: 'Join the call' }).click({ timeout: 60_000 });

    const decoded = (f: Frame, who: string) => async () =>
      (await facts(f)).videos.find(
        (v) => v.remote && v.user === who && !v.waitingForKeys && v.width > 0 && v.frames > 5,
      );
    await eventually('Alice’s video decrypted in Carol’s page', decoded(frame, alice.userId), 40_000);
    await eventually('Carol’s video decrypted on Alice’s side', decoded(aliceFrame, carol.userId), 40_000);
    await frame.getByText('End-to-end encrypted').waitFor({ timeout: 5_000 });
    // Carol's page is a device of her own, with published keys, and her key reached Alice by Olm.
    const devices = await asUser<{ devices: { device_id: string }[] }>(carol, 'GET', '/_matrix/client/v3/devices');
    const pageDevice = devices.devices.map((d) => d.device_id).find((d) => d !== carol.deviceId);
    expect(pageDevice).toBeDefined();
    const received = await aliceFrame.page().evaluate(
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
  });
});

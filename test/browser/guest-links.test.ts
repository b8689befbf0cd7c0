/**
 * Guest links in the browser, on the real stack: Alice, in the call in our widget, makes a guest link
 * from the participant list; someone with no Matrix account opens it, gives a name, waits in the
 * waiting room, is let in and is in the call with video both ways. A guest whose link expires is out
 * of LiveKit and out of the room within a second, and their page says their access has ended. A dead
 * link (expired, withdrawn, forged) gets a page of its own, with no name asked and no account made.
 */
import type { Frame, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';

import { livekitRoomAlias } from '../../core/livekit-names.ts';
import { axeViolations } from '../../scripts/stack/clients/browser.ts';
import {
  knockRoom,
  livekitApi,
  openIdToken,
  postToService,
  roomWithPartner,
  say,
  waitForCallWidget,
} from '../../scripts/stack/clients/calls.ts';
import { asUser, eventually, membership, registerUser, type TestUser } from '../../scripts/stack/clients/matrix.ts';
import { callSuite } from '../harness/suite.ts';
import { browserPages, facts, ours, oursSeesAndHears } from './pages.ts';

const pages = browserPages();
const { db } = callSuite();
const enc = encodeURIComponent;

/** A room with a waiting room (join rule knock), Alice in it with the bot, and a call running. */
async function meetingRoom(): Promise<{ alice: TestUser; roomId: string }> {
  const alice = await registerUser('a');
  await asUser(alice, 'PUT', `/_matrix/client/v3/profile/${enc(alice.userId)}/displayname`, {
    displayname: 'Alice Martin',
  });
  const roomId = await knockRoom(alice, 'réunion avec un partenaire');
  await say(alice, roomId, '!call');
  return { alice, roomId };
}

async function aliceInCall(alice: TestUser, roomId: string): Promise<Frame> {
  await waitForCallWidget(alice, roomId);
  const a = await ours(await pages.hostPage(alice, roomId));
  await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
  await a.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 30_000 });
  return a;
}

/** Someone opening a guest link in a plain browser (no Matrix account), giving a name. */
async function guestOpens(url: string, name: string | undefined, viewport?: { width: number; height: number }) {
  const page: Page = await pages.newPage(viewport === undefined ? {} : { viewport });
  await page.goto(url);
  const frame = page.mainFrame();
  if (name !== undefined) {
    const field = frame.getByLabel(/^(Your name|Votre nom)$/);
    await field.waitFor({ timeout: 30_000 });
    await field.fill(name);
    await frame.getByRole('button', { name: /^(Continue|Continuer)$/ }).click();
  }
  return frame;
}

/** The guest accounts a link made (the service's database). */
const guestsOf = async (linkId: string): Promise<string[]> =>
  (await db.query<{ user_id: string }>('SELECT user_id FROM guests WHERE link_id = $1', [linkId])).rows.map(
    (r) => r.user_id,
  );

describe('guest links', () => {
  it('Alice makes a link in the call; a guest gives a name, waits, is let in: video both ways; keyboard only, axe clean', async () => {
    const { alice, roomId } = await meetingRoom();
    const a = await aliceInCall(alice, roomId);

    // From the participant list, keyboard only.
    await a.getByRole('button', { name: 'Show participants' }).click();
    const invite = a.getByRole('button', { name: 'Invite someone from outside' });
    await invite.focus();
    await a.page().keyboard.press('Enter');
    await a.getByRole('heading', { name: 'Guest links' }).waitFor({ timeout: 15_000 });
    await a.getByLabel('Valid for').selectOption('1');
    await a.getByLabel('Single use').check();
    const create = a.getByRole('button', { name: 'Create link' });
    await create.focus();
    await a.page().keyboard.press('Enter');
    const field = a.getByLabel('Link to send');
    await field.waitFor({ timeout: 15_000 });
    const url = await field.inputValue();
    expect(url).toMatch(/\/widget\/#guest=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}&lang=en$/);
    expect(await axeViolations(a)).toEqual([]);
    // The open link is listed, with a way to withdraw it.
    await a.getByRole('button', { name: /^Withdraw the link valid until / }).waitFor({ timeout: 15_000 });

    const g = await guestOpens(url, undefined);
    await g.getByRole('heading', { name: 'Join the call as a guest' }).waitFor({ timeout: 30_000 });
    expect(await axeViolations(g)).toEqual([]);
    const name = g.getByLabel('Your name');
    await name.focus();
    await g.page().keyboard.type('Zoé Lefèvre');
    await g.page().keyboard.press('Enter');
    await g.getByText('You are in the waiting room').waitFor({ timeout: 30_000 });

    // Alice sees the guest, named with the suffix, and lets them in.
    await a.getByText('1 waiting to be let in').waitFor({ timeout: 30_000 });
    const letIn = a.getByRole('button', { name: 'Let Zoé Lefèvre (guest) in' });
    await letIn.focus();
    await a.page().keyboard.press('Enter');
    const [guest] = await guestsOf(
      (await db.query<{ link_id: string }>('SELECT link_id FROM guest_links WHERE room_id = $1', [roomId])).rows[0]
        ?.link_id ?? '',
    );
    expect(guest).toMatch(/^@causerie_guest_/);
    await oursSeesAndHears(g, alice, 45_000);
    await oursSeesAndHears(a, { userId: guest ?? '' }, 30_000);
    expect(await axeViolations(g)).toEqual([]);
    // The single-use link is spent: opened again, it says so and asks no name.
    const again = await guestOpens(url, undefined);
    await again.getByText('This guest link has already been used.').waitFor({ timeout: 30_000 });
    expect(await again.getByLabel('Your name').count()).toBe(0);
  });

  it('at expiry the guest is out of LiveKit and the room within a second, and told (French page)', async () => {
    const { alice, roomId } = await meetingRoom();
    const a = await aliceInCall(alice, roomId);
    const made = await postToService('/_causerie/v1/guest_links', {
      room_id: roomId,
      openid_token: await openIdToken(alice),
      expires_in: 30,
      admit: true,
      lang: 'fr',
    });
    expect(made.status).toBe(200);
    const expiresAt = Date.parse(made.body['expires_at'] as string);
    const g = await guestOpens(made.body['url'] as string, 'Gaston');
    // Let in directly: no waiting room, the lobby (in French: the link's language).
    await g.getByRole('button', { name: 'Rejoindre l’appel' }).click({ timeout: 30_000 });
    const [guest = ''] = await eventually('the guest account', async () => {
      const ids = await guestsOf(made.body['link_id'] as string);
      return ids.length > 0 ? ids : undefined;
    });
    await oursSeesAndHears(a, { userId: guest }, 45_000);
    expect((await facts(g)).videos.some((v) => v.remote && v.user === alice.userId)).toBe(true);
    expect(Date.now()).toBeLessThan(expiresAt);

    const alias = livekitRoomAlias(roomId);
    const inLivekit = async (): Promise<boolean> =>
      (await livekitApi().listParticipants(alias)).some((p) => p.identity.startsWith(`${guest}:`));
    expect(await inLivekit()).toBe(true);
    // Out of LiveKit and the room, each noticed by polling from the expiry on.
    const out = await eventually(
      'the guest out of LiveKit and the room',
      async () => {
        if (Date.now() < expiresAt) return undefined;
        const gone = !(await inLivekit()) && (await membership(alice, roomId, guest)) === 'leave';
        return gone ? Date.now() : undefined;
      },
      40_000,
    );
    expect(out - expiresAt).toBeLessThanOrEqual(1_000);
    await g.getByText('Votre accès invité a pris fin.').waitFor({ timeout: 15_000 });
    expect(await axeViolations(g)).toEqual([]);
    // And the link is dead: its page says it expired, with no name asked.
    const again = await guestOpens(made.body['url'] as string, undefined);
    await again.getByText('Ce lien invité a expiré. Demandez-en un nouveau à la personne qui vous a invité.').waitFor({
      timeout: 30_000,
    });
  });

  it('in an encrypted room the guest page is a Matrix device through the gateway: keys by Olm both ways, each decodes the other', async () => {
    const { alice, roomId } = await roomWithPartner({ encrypted: true });
    await say(alice, roomId, '!call');
    const a = await aliceInCall(alice, roomId);
    const made = await postToService('/_causerie/v1/guest_links', {
      room_id: roomId,
      openid_token: await openIdToken(alice),
      admit: true,
    });
    const g = await guestOpens(made.body['url'] as string, 'Gaston');
    await g.getByRole('button', { name: 'Join the call' }).click({ timeout: 60_000 });
    const [guest = ''] = await guestsOf(made.body['link_id'] as string);
    const decoded = (f: Frame, who: string) => async () =>
      (await facts(f)).videos.find(
        (v) => v.remote && v.user === who && !v.waitingForKeys && v.width > 0 && v.frames > 5,
      );
    await eventually('Alice’s video decrypted in the guest’s page', decoded(g, alice.userId), 40_000);
    await eventually('the guest’s video decrypted on Alice’s side', decoded(a, guest), 40_000);
    await g.getByText('End-to-end encrypted').waitFor({ timeout: 5_000 });
    // The guest's key reached Alice by Olm, from the guest's device.
    const received = await a
      .page()
      .evaluate(
        () =>
          (window as unknown as { causerieToDevice: { type: string; sender: string; encrypted: boolean }[] })
            .causerieToDevice,
      );
    expect(
      received.some((m) => m.type === 'io.element.call.encryption_keys' && m.sender === guest && m.encrypted),
    ).toBe(true);
  });

  it('withdrawn and forged links get a page of their own at phone size; no account is made', async () => {
    const { alice, roomId } = await meetingRoom();
    const made = await postToService('/_causerie/v1/guest_links', {
      room_id: roomId,
      openid_token: await openIdToken(alice),
      admit: true,
    });
    const url = made.body['url'] as string;
    await postToService('/_causerie/v1/guest_links/revoke', {
      room_id: roomId,
      openid_token: await openIdToken(alice),
      link_id: made.body['link_id'],
    });
    const phone = { width: 375, height: 700 };
    const withdrawn = await guestOpens(url, undefined, phone);
    await withdrawn.getByText('This guest link has been withdrawn by the organiser.').waitFor({ timeout: 30_000 });
    expect(await axeViolations(withdrawn)).toEqual([]);
    // One character of the link changed (the first of its claims).
    const forgedUrl = url.replace(/#guest=(.)/, (_m, c: string) => `#guest=${c === 'e' ? 'f' : 'e'}`);
    expect(forgedUrl).not.toBe(url);
    const forged = await guestOpens(forgedUrl, undefined, phone);
    await forged.getByText('This link is not a valid guest link. Check that it was copied whole.').waitFor({
      timeout: 30_000,
    });
    expect(await forged.getByLabel('Your name').count()).toBe(0);
    expect(await guestsOf(made.body['link_id'] as string)).toEqual([]);
  });
});

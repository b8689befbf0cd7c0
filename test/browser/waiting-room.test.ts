/**
 * The waiting room on Matrix knock, across homeservers: in a room whose join rule is `knock`, a
 * partner on B opening the call link signs in, knocks and waits; Alice, in the call on A, sees who
 * waits and lets them in (the bot invites them) — their page then joins the call by itself — or
 * refuses (the knock is turned away), and the refused person is told and gets no token.
 */
import type { Frame } from 'playwright-core';
import { describe, expect, it } from 'vitest';

import { axeViolations } from '../../scripts/stack/clients/browser.ts';
import { knockRoom, say, sfuGet, waitForCallWidget } from '../../scripts/stack/clients/calls.ts';
import { homeserver, stackEnv } from '../../scripts/stack/clients/env.ts';
import { asUser, registerUser, type TestUser } from '../../scripts/stack/clients/matrix.ts';
import { browserPages, facts, ours, oursSeesAndHears } from './pages.ts';

const pages = browserPages();
const enc = encodeURIComponent;

/** A room with a waiting room (join rule knock), Alice in it with the bot, and a call running. */
async function meetingRoom(): Promise<{ alice: TestUser; roomId: string }> {
  const alice = await registerUser('a');
  await asUser(alice, 'PUT', `/_matrix/client/v3/profile/${enc(alice.userId)}/displayname`, {
    displayname: 'Alice Martin',
  });
  const roomId = await knockRoom(alice, 'réunion avec salle d’attente');
  await say(alice, roomId, '!call');
  return { alice, roomId };
}

/** A partner opening the call link in a plain browser and signing in on their own homeserver. */
async function partnerOpensLink(user: TestUser, roomId: string, lang: 'en' | 'fr' = 'en'): Promise<Frame> {
  const page = await pages.newPage({ ignoreHTTPSErrors: true });
  await page.goto(
    `${stackEnv().service.url}/widget/?roomId=${enc(roomId)}&via=${enc(homeserver('a').server_name)}&lang=${lang}`,
  );
  const frame = page.mainFrame();
  await frame.getByLabel(lang === 'fr' ? 'Identifiant Matrix' : 'Matrix ID').fill(user.userId);
  await frame.getByLabel(lang === 'fr' ? 'Mot de passe' : 'Password').fill(user.password);
  await frame.getByRole('button', { name: lang === 'fr' ? 'Se connecter' : 'Sign in' }).click();
  return frame;
}

describe('waiting room', () => {
  it('a partner on B knocks from the link and waits; Alice lets him in and his page joins the call: video both ways', async () => {
    const { alice, roomId } = await meetingRoom();
    const bob = await registerUser('b');
    await asUser(bob, 'PUT', `/_matrix/client/v3/profile/${enc(bob.userId)}/displayname`, {
      displayname: 'Bob Partenaire',
    });
    await waitForCallWidget(alice, roomId);
    const a = await ours(await pages.hostPage(alice, roomId));
    await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });

    const b = await partnerOpensLink(bob, roomId);
    await b.getByText('You are in the waiting room').waitFor({ timeout: 30_000 });
    expect(await axeViolations(b)).toEqual([]);
    // Alice sees who waits, and lets him in.
    await a.getByText('1 waiting to be let in').waitFor({ timeout: 30_000 });
    expect(await axeViolations(a)).toEqual([]);
    await a.getByRole('button', { name: /^Let .* in$/ }).click();
    // His page joins by itself; each sees the other.
    await oursSeesAndHears(b, alice, 45_000);
    await oursSeesAndHears(a, bob, 30_000);
    expect((await facts(a)).videos.some((v) => v.remote && v.user === bob.userId)).toBe(true);
  });

  it('refused (a French-speaking partner, keyboard only): told in French, and no token', async () => {
    const { alice, roomId } = await meetingRoom();
    const carol = await registerUser('b');
    await waitForCallWidget(alice, roomId);
    const a = await ours(await pages.hostPage(alice, roomId));
    await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    const c = await partnerOpensLink(carol, roomId, 'fr');
    await c.getByText('Vous êtes dans la salle d’attente').waitFor({ timeout: 30_000 });
    expect(await axeViolations(c)).toEqual([]);
    // Alice answers with the keyboard only.
    const refuse = a.getByRole('button', { name: /^Refuse / });
    await refuse.waitFor({ timeout: 30_000 });
    await refuse.focus();
    await a.page().keyboard.press('Enter');
    await c.getByText('Votre demande pour rejoindre l’appel a été refusée.').waitFor({ timeout: 30_000 });
    expect(await axeViolations(c)).toEqual([]);
    const answer = await sfuGet(carol, roomId);
    expect(answer.status).toBe(403);
  });
});

/**
 * Accessibility of every view of the call UI, on the real stack: axe-core (WCAG 2 A/AA, colour
 * contrast included) finds no serious or critical violation in the lobby, the grid, the speaker
 * view, the settings and shortcuts dialogs, the More menu and the participant list, in both themes
 * and both languages, on a desktop and on a phone (375 px).
 */
import { dispose, type Room } from '@livekit/rtc-node';
import type { Frame, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';

import { axeViolations } from '../../scripts/stack/clients/browser.ts';
import { connectToCall, roomWithPartner, say, waitForCallWidget } from '../../scripts/stack/clients/calls.ts';
import { eventually } from '../../scripts/stack/clients/matrix.ts';
import { strings } from '../../widget/core/i18n.ts';
import { browserPages, facts, ours } from './pages.ts';

const pages = browserPages();
const connected: Room[] = [];
afterAll(async () => {
  for (const r of connected) await r.disconnect();
  await dispose();
});

const DESKTOP = { width: 1100, height: 700 };
const PHONE = { width: 375, height: 700 };

/** Runs axe on the widget as it is now; returns `view: violation` lines (none expected). */
async function check(frame: Frame, view: string): Promise<string[]> {
  return (await axeViolations(frame)).map((v) => `${view}: ${v}`);
}

/** Opens a control's dialog or menu, checks the view, and closes it with Escape. */
async function checkOpened(
  page: Page,
  frame: Frame,
  view: string,
  open: () => Promise<void>,
  shown: string,
): Promise<string[]> {
  await open();
  await frame.locator(shown).first().waitFor();
  const found = await check(frame, view);
  await page.keyboard.press('Escape');
  await frame.locator(shown).first().waitFor({ state: 'detached' });
  return found;
}

describe('accessibility of the call UI', () => {
  it('no serious or critical axe violation in any view, in both themes and languages, on a desktop and a phone', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    await say(alice, roomId, '!call');
    await waitForCallWidget(alice, roomId);
    // Someone else in the call: a tile, a list entry, a name in the lobby.
    await connectToCall(bob, roomId, connected);

    const found: string[] = [];
    for (const theme of ['light', 'dark'] as const) {
      for (const lang of ['en', 'fr'] as const) {
        const t = strings(lang);
        const at = `${theme}/${lang}`;
        const page = await pages.hostPage(alice, roomId, { lang, theme, options: { viewport: DESKTOP } });
        const a = await ours(page);
        const call = a.locator('causerie-call');
        const button = (name: string) => call.getByRole('button', { name, exact: true });

        await a.getByRole('button', { name: t.join }).waitFor({ timeout: 30_000 });
        found.push(...(await check(a, `${at} lobby`)));
        await page.setViewportSize(PHONE);
        found.push(...(await check(a, `${at} lobby, phone`)));
        await page.setViewportSize(DESKTOP);

        await a.getByRole('button', { name: t.join }).click();
        await button(t.camOn).waitFor({ timeout: 30_000 });
        await eventually('Bob’s tile', async () => ((await facts(a)).videos.length >= 2 ? true : undefined));
        found.push(...(await check(a, `${at} grid`)));
        found.push(
          ...(await checkOpened(page, a, `${at} settings`, () => button(t.settings).click(), 'dialog')),
          ...(await checkOpened(page, a, `${at} shortcuts`, () => page.keyboard.press('?'), 'dialog')),
          ...(await checkOpened(page, a, `${at} More menu`, () => button(t.more).click(), '[role="menu"]')),
          ...(await checkOpened(page, a, `${at} reactions menu`, () => button(t.reactions).click(), '[role="menu"]')),
        );
        await button(t.showPeople).click();
        await a.locator('causerie-people').waitFor();
        found.push(...(await check(a, `${at} participants`)));
        await button(t.hidePeople).click();
        await button(t.speakerView).click();
        await a.locator('[data-layout="spotlight"]').waitFor();
        found.push(...(await check(a, `${at} speaker view`)));

        await page.setViewportSize(PHONE);
        await button(t.more).waitFor();
        found.push(...(await check(a, `${at} speaker view, phone`)));
        found.push(
          ...(await checkOpened(page, a, `${at} More menu, phone`, () => button(t.more).click(), '[role="menu"]')),
        );
        await button(t.more).click();
        await a.getByRole('menuitem', { name: t.gridView }).click();
        await a.locator('[data-layout="grid"]').waitFor();
        found.push(...(await check(a, `${at} grid, phone`)));
        await button(t.more).click();
        await a.getByRole('menuitem', { name: t.settings }).click();
        await a.locator('dialog').waitFor();
        found.push(...(await check(a, `${at} settings, phone`)));
        await page.keyboard.press('Escape');
        await page.context().close();
      }
    }
    expect(found).toEqual([]);
  });
});

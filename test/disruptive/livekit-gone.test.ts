/**
 * LiveKit gone for good during a call, seen from the widget on the real stack: "reconnecting…"
 * over the call while LiveKit's client tries, then — only once it gives up — a clear screen with
 * Try again; with LiveKit back, Try again puts the person back in the call. (A short cut is in
 * test/browser/call-ui.test.ts: the call resumes by itself.)
 */
import { describe, expect, it } from 'vitest';

import { roomWithPartner, say, waitForCallWidget } from '../../scripts/stack/clients/calls.ts';
import { eventually } from '../../scripts/stack/clients/matrix.ts';
import { up } from '../../scripts/stack/index.ts';
import { browserPages, facts, ours } from '../browser/pages.ts';
import { signalPart } from '../harness/faults.ts';

const pages = browserPages();

describe('LiveKit gone during a call', () => {
  it('reconnecting first, then a clear screen with Try again once the client gives up; Try again rejoins when LiveKit is back', async () => {
    const { alice, roomId } = await roomWithPartner();
    await say(alice, roomId, '!call');
    await waitForCallWidget(alice, roomId);
    const a = await ours(await pages.hostPage(alice, roomId));
    await a.getByRole('button', { name: 'Join the call' }).click({ timeout: 30_000 });
    await a.locator('causerie-call').getByRole('button', { name: 'Turn camera off' }).waitFor({ timeout: 30_000 });

    signalPart('livekit', 'SIGKILL');
    try {
      await a.locator('[data-reconnecting]').waitFor({ timeout: 30_000 });
      expect((await facts(a)).phase).toBe('in_call');
      // LiveKit's client tries for about 45 s before it gives up.
      await a.getByRole('button', { name: 'Try again' }).waitFor({ timeout: 90_000 });
      expect(await facts(a)).toMatchObject({ phase: 'error', error: 'livekit_unreachable' });
      await a.getByText('The media server cannot be reached. Check your connection and try again.').waitFor();
    } finally {
      await up();
    }
    await a.getByRole('button', { name: 'Try again' }).click();
    await eventually('back in the call', async () => ((await facts(a)).phase === 'in_call' ? true : undefined), 30_000);
    await a.locator('causerie-call').getByRole('button', { name: 'Turn camera off' }).waitFor({ timeout: 30_000 });
  }, 180_000);
});

/**
 * The main job: `npm run demo` sets up a two-homeserver call in the two-SFU layout and says where to
 * open it. Its two URLs, opened as a person would (no certificate exception), join one call: each
 * sees and hears the other, Alice publishing on our SFU and Bob on homeserver B's own.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { livekitApi, partnerLivekitApi, publishersOn } from '../../scripts/stack/clients/calls.ts';
import { stackFetch } from '../../scripts/stack/clients/env.ts';
import { eventually } from '../../scripts/stack/clients/matrix.ts';
import { up } from '../../scripts/stack/index.ts';
import { browserPages, ours, oursSeesAndHears } from './pages.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const pages = browserPages();

/** The demo leaves the stack in the two-SFU layout: back to the default for the files after this one. */
afterAll(async () => {
  delete process.env['CAUSERIE_STACK_SFU'];
  await up();
}, 120_000);

describe('npm run demo', () => {
  it('creates Alice on A and Bob on B in a room with a started call, prints one URL each; opened, they share one call across two SFUs', async () => {
    const env = { ...process.env };
    delete env['CAUSERIE_STACK_SFU'];
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'demo.ts')], {
      cwd: root,
      timeout: 120_000,
      env,
    });
    expect(stdout).toContain('Two SFUs: Alice publishes on ours');
    const demo = JSON.parse(readFileSync(join(root, '.stack', 'demo.json'), 'utf8')) as {
      room_id: string;
      users: { user_id: string; url: string }[];
    };
    expect(demo.users.map((u) => u.user_id.slice(u.user_id.indexOf(':') + 1))).toEqual([
      'localhost:8481',
      'localhost:8482',
    ]);
    for (const u of demo.users) {
      expect(stdout).toContain(u.url);
      const fragment = new URLSearchParams(new URL(u.url).hash.slice(1));
      expect(fragment.get('room')).toBe(demo.room_id);
      // The URL's credentials work on the user's own homeserver, and the call widget is in the room.
      const state = await stackFetch(
        `${fragment.get('hs') ?? ''}/_matrix/client/v3/rooms/${encodeURIComponent(demo.room_id)}/state/im.vector.modular.widgets/causerie_call`,
        { headers: { authorization: `Bearer ${fragment.get('token') ?? ''}` } },
      );
      expect(state.status).toBe(200);
      expect(((await state.json()) as { name: string }).name).toBe('Causerie');
    }

    const [alice, bob] = demo.users.map((u) => ({ userId: u.user_id }));
    if (alice === undefined || bob === undefined) throw new Error('two users expected');
    const frames = [];
    for (const u of demo.users) {
      const page = await pages.newPage();
      await page.goto(u.url);
      const frame = await ours(page);
      await frame.getByRole('button', { name: /^(Join the call|Rejoindre l’appel)$/ }).click({ timeout: 30_000 });
      frames.push(frame);
    }
    const [a, b] = frames;
    if (a === undefined || b === undefined) throw new Error('two pages expected');
    await oursSeesAndHears(a, bob, 45_000);
    await oursSeesAndHears(b, alice, 45_000);
    await eventually('Alice publishing on ours, Bob on B’s', async () => {
      const [onOurs, onTheirs] = await Promise.all([
        publishersOn(livekitApi(), demo.room_id),
        publishersOn(partnerLivekitApi(), demo.room_id),
      ]);
      return onOurs.join() === alice.userId && onTheirs.join() === bob.userId ? true : undefined;
    });
  });
});

/**
 * The main job: `npm run demo` sets up a two-homeserver call and says where to open it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { stackFetch } from '../../scripts/stack/clients/env.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

describe('npm run demo', () => {
  it('creates Alice on A and Bob on B in a room with a started call, and prints and records one URL each', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'demo.ts')], {
      cwd: root,
      timeout: 120_000,
    });
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
    // The host page it points to is served.
    const page = await stackFetch(demo.users[0]?.url.split('#')[0] ?? '');
    expect(page.status).toBe(200);
  });
});

/**
 * The deployment files in deploy/ are valid for the tools that read them: the systemd unit passes
 * `systemd-analyze verify` (with the checkout's real paths in place of /opt/causerie), and the proxy
 * configurations keep the private paths private.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const read = (name: string): string => readFileSync(join(root, 'deploy', name), 'utf8');

describe('deploy/', () => {
  it('the systemd unit passes systemd-analyze verify', () => {
    const dir = mkdtempSync(join(tmpdir(), 'causerie-unit-'));
    const unit = join(dir, 'causerie.service');
    writeFileSync(unit, read('causerie.service').replaceAll('/opt/causerie', root));
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', timeout: 60_000 });
    expect(r.error).toBeUndefined();
    // Only lines about this unit matter (the host's own units may warn about themselves).
    const ours = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('causerie.service'));
    expect(ours).toEqual([]);
    expect(r.status).toBe(0);
  });

  it('the proxies pass the token API, moderation, guest links and widget, and never the appservice API, webhook, metrics or doctor probe', () => {
    for (const file of ['nginx.conf', 'Caddyfile']) {
      const text = read(file);
      for (const open of [
        '/sfu/get',
        '/get_token',
        '/_causerie/v1/moderate',
        '/_causerie/v1/guest_links',
        '/_causerie/v1/guest/redeem',
        '/_causerie/v1/guest/client/',
        '/widget',
      ])
        expect(text, file).toContain(open);
      const routes = text
        .split('\n')
        .filter((l) => !l.trim().startsWith('#'))
        .join('\n');
      for (const closed of ['/_matrix/app', '/livekit/webhook', '/metrics', '/_causerie/doctor', '/readyz'])
        expect(routes, `${file} must not route ${closed}`).not.toContain(closed);
    }
  });
});

/**
 * `npm run docs:screenshots`: runs the demo in headless Chromium (fake camera and microphone) and
 * saves docs/img/lobby.png (Alice's lobby, French) and docs/img/call.png (the two-person call) for
 * the README.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { launchBrowser, mediaProbe, type MediaFacts } from './stack/clients/browser.ts';
import { eventually } from './stack/clients/matrix.ts';
import { repoRoot, stateDir } from './stack/layout.ts';

execFileSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts', 'demo.ts')], {
  stdio: 'ignore',
  cwd: repoRoot,
});
const demo = JSON.parse(readFileSync(join(stateDir, 'demo.json'), 'utf8')) as { users: { url: string }[] };
const out = join(repoRoot, 'docs', 'img');
mkdirSync(out, { recursive: true });

const browser = await launchBrowser();
try {
  const pages = [];
  for (const { url } of demo.users) {
    const page = await (await browser.newContext({ viewport: { width: 1100, height: 720 } })).newPage();
    await page.goto(url);
    const frame = await eventually('the widget', () =>
      Promise.resolve(page.frames().find((f) => f.url().includes('/widget/'))),
    );
    pages.push({ page, frame });
  }
  const [alice, bob] = pages as [(typeof pages)[number], (typeof pages)[number]];
  await alice.frame.getByRole('button', { name: 'Rejoindre l’appel' }).waitFor();
  await eventually('the camera preview', async () =>
    (await alice.frame.evaluate<MediaFacts>(mediaProbe)).videos.some((v) => v.width > 0) ? true : undefined,
  );
  await alice.page.screenshot({ path: join(out, 'lobby.png') });

  await alice.frame.getByRole('button', { name: 'Rejoindre l’appel' }).click();
  await bob.frame.getByRole('button', { name: 'Join the call' }).click();
  await eventually(
    'both videos',
    async () =>
      (await alice.frame.evaluate<MediaFacts>(mediaProbe)).videos.filter((v) => v.width > 0 && v.frames > 30).length >=
      2
        ? true
        : undefined,
    30_000,
  );
  await alice.page.screenshot({ path: join(out, 'call.png') });
  process.stdout.write(`wrote ${join(out, 'lobby.png')} and ${join(out, 'call.png')}\n`);
} finally {
  await browser.close();
}

/**
 * `npm run docs:screenshots`: runs the demo in headless Chromium (fake camera and microphone) and
 * saves, for the README: docs/img/lobby.png (Alice's lobby, French), call.png (the call in the
 * grid), speaker.png (the speaker view), phone.png (the call on a 375 px phone) and dark.png (the
 * call in the dark theme, with the settings open).
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
  for (const [i, { url }] of demo.users.entries()) {
    const page = await (await browser.newContext({ viewport: { width: 1100, height: 720 } })).newPage();
    // Bob's host is in dark mode.
    await page.goto(i === 1 ? `${url}&theme=dark` : url);
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

  await alice.frame.getByRole('button', { name: 'Vue orateur' }).click();
  await alice.frame.locator('[data-layout="spotlight"]').waitFor();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await alice.page.screenshot({ path: join(out, 'speaker.png') });

  // Bob's host is in dark mode: his call, with the settings open.
  await bob.frame.getByRole('button', { name: 'Settings' }).click({ timeout: 30_000 });
  await bob.frame.locator('dialog').waitFor();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await bob.page.screenshot({ path: join(out, 'dark.png') });

  await alice.page.setViewportSize({ width: 375, height: 720 });
  await alice.frame.getByRole('button', { name: 'Plus d’options' }).waitFor();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await alice.page.screenshot({ path: join(out, 'phone.png') });
  process.stdout.write(`wrote lobby, call, speaker, phone and dark screenshots in ${out}\n`);
} finally {
  await browser.close();
}

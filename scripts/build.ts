/**
 * `npm run build`: bundles the call widget (widget/) and the test host page (test/host/) with
 * esbuild into dist/, and prints each bundle's size. The service serves dist/widget at /widget/.
 */
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

import { build } from 'esbuild';

import { repoRoot } from './stack/layout.ts';

export const distDir = join(repoRoot, 'dist');

interface Target {
  name: string;
  entry: string;
  html: string;
  out: string;
  /** Gzipped size the bundle must stay under (KiB): users load it when they open a call. */
  budgetKiB?: number;
}

const targets: Target[] = [
  { name: 'widget', entry: 'widget/main.ts', html: 'widget/index.html', out: 'widget', budgetKiB: 200 },
  { name: 'test host', entry: 'test/host/host.ts', html: 'test/host/index.html', out: 'host' },
];

export async function buildAll(quiet = false): Promise<void> {
  for (const t of targets) {
    const outdir = join(distDir, t.out);
    mkdirSync(outdir, { recursive: true });
    await build({
      entryPoints: [join(repoRoot, t.entry)],
      outfile: join(outdir, 'main.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome120', 'firefox120', 'safari17'],
      minify: true,
      sourcemap: true,
      legalComments: 'none',
      logLevel: 'warning',
      define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    });
    copyFileSync(join(repoRoot, t.html), join(outdir, 'index.html'));
    const file = join(outdir, 'main.js');
    const size = statSync(file).size;
    const gz = gzipSync(readFileSync(file)).length;
    const budget = t.budgetKiB === undefined ? '' : `, budget ${t.budgetKiB} KiB`;
    if (!quiet) {
      process.stdout.write(
        `${t.name}: dist/${t.out}/main.js ${(size / 1024).toFixed(0)} KiB (${(gz / 1024).toFixed(0)} KiB gzipped${budget})\n`,
      );
    }
    if (t.budgetKiB !== undefined && gz / 1024 > t.budgetKiB) {
      throw new Error(`${t.name} bundle is ${(gz / 1024).toFixed(0)} KiB gzipped, over its ${t.budgetKiB} KiB budget`);
    }
  }
}

if (process.argv[1]?.endsWith('build.ts') === true) await buildAll();

/**
 * `npm run build`: bundles the call widget (widget/) and the test host page (test/host/) with
 * esbuild into dist/, and prints each bundle's size. The service serves dist/widget at /widget/.
 * Beside the widget: LiveKit's media-encryption worker (e2ee-worker.js, loaded only in encrypted
 * calls). Beside the host page: the Matrix crypto wasm its matrix-js-sdk fetches (pkg/).
 */
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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
  /** Other bundles beside it: output file name → entry (a file of the repository or a package export). */
  extra?: Record<string, string>;
  /** Files copied beside it: output path → file of the repository (node_modules/ included). */
  copy?: Record<string, string>;
}

const require = createRequire(import.meta.url);

const targets: Target[] = [
  {
    name: 'widget',
    entry: 'widget/main.ts',
    html: 'widget/index.html',
    out: 'widget',
    budgetKiB: 200,
    extra: { 'e2ee-worker.js': 'livekit-client/e2ee-worker' },
  },
  {
    name: 'test host',
    entry: 'test/host/host.ts',
    html: 'test/host/index.html',
    out: 'host',
    // A bare LiveKit subscriber for the encryption tests.
    extra: { 'subscriber.js': 'test/host/subscriber.ts' },
    copy: {
      'subscriber.html': 'test/host/subscriber.html',
      // matrix-js-sdk's Rust crypto fetches its wasm at ./pkg/ relative to the bundle.
      'pkg/matrix_sdk_crypto_wasm_bg.wasm':
        'node_modules/@matrix-org/matrix-sdk-crypto-wasm/pkg/matrix_sdk_crypto_wasm_bg.wasm',
    },
  },
];

export async function buildAll(quiet = false): Promise<void> {
  for (const t of targets) {
    const outdir = join(distDir, t.out);
    mkdirSync(outdir, { recursive: true });
    const bundles: [string, string][] = [
      ['main.js', join(repoRoot, t.entry)],
      ...Object.entries(t.extra ?? {}).map(([out, entry]): [string, string] => [
        out,
        existsSync(join(repoRoot, entry)) ? join(repoRoot, entry) : require.resolve(entry),
      ]),
    ];
    for (const [out, entry] of bundles) await bundle(entry, join(outdir, out));
    for (const [out, file] of Object.entries(t.copy ?? {})) {
      mkdirSync(dirname(join(outdir, out)), { recursive: true });
      copyFileSync(join(repoRoot, file), join(outdir, out));
    }
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

async function bundle(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
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
}

if (process.argv[1]?.endsWith('build.ts') === true) await buildAll();

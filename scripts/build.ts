/**
 * `npm run build`: bundles the call widget (widget/) and the test host page (test/host/) with
 * esbuild into dist/, and prints each bundle's size. The service serves dist/widget at /widget/.
 * Beside the widget: LiveKit's media-encryption worker (e2ee-worker.js, loaded only in encrypted
 * calls). Beside the host page: the Matrix crypto wasm its matrix-js-sdk fetches (pkg/).
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
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
    // The standalone page's Matrix crypto (a chunk loaded only for encrypted rooms) fetches its wasm
    // at ./pkg/ relative to that chunk.
    copy: {
      'pkg/matrix_sdk_crypto_wasm_bg.wasm':
        'node_modules/@matrix-org/matrix-sdk-crypto-wasm/pkg/matrix_sdk_crypto_wasm_bg.wasm',
      // The call's sounds (made by scripts/sounds.ts), fetched when first played.
      'sounds/join.wav': 'widget/sounds/join.wav',
      'sounds/leave.wav': 'widget/sounds/leave.wav',
      'sounds/hand.wav': 'widget/sounds/hand.wav',
    },
  },
  {
    name: 'test host',
    entry: 'test/host/host.ts',
    html: 'test/host/index.html',
    out: 'host',
    // A bare LiveKit subscriber for the encryption tests; camera publishers for the call-cost bench.
    extra: { 'subscriber.js': 'test/host/subscriber.ts', 'publisher.js': 'test/host/publisher.ts' },
    copy: {
      'subscriber.html': 'test/host/subscriber.html',
      'publisher.html': 'test/host/publisher.html',
      // matrix-js-sdk's Rust crypto fetches its wasm at ./pkg/ relative to the bundle.
      'pkg/matrix_sdk_crypto_wasm_bg.wasm':
        'node_modules/@matrix-org/matrix-sdk-crypto-wasm/pkg/matrix_sdk_crypto_wasm_bg.wasm',
    },
  },
];

export async function buildAll(quiet = false): Promise<void> {
  for (const t of targets) {
    const served = join(distDir, t.out);
    // Built beside the served folder, which it replaces only once whole: a failed build leaves the
    // last good one served. Chunk names change with their content: start clean, no stale chunk.
    const outdir = `${served}.next`;
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(outdir, { recursive: true });
    const bundles: [string, string][] = [
      ['main.js', join(repoRoot, t.entry)],
      ...Object.entries(t.extra ?? {}).map(([out, entry]): [string, string] => [
        out,
        existsSync(join(repoRoot, entry)) ? join(repoRoot, entry) : require.resolve(entry),
      ]),
    ];
    let loaded: string[] = [];
    for (const [out, entry] of bundles) {
      const files = await bundle(entry, join(outdir, out));
      if (out === 'main.js') loaded = files;
    }
    for (const [out, file] of Object.entries(t.copy ?? {})) {
      mkdirSync(dirname(join(outdir, out)), { recursive: true });
      copyFileSync(join(repoRoot, file), join(outdir, out));
    }
    copyFileSync(join(repoRoot, t.html), join(outdir, 'index.html'));
    // What a page loads before it runs: main.js and the chunks it imports statically (chunks
    // imported on demand, e.g. the standalone page's Matrix crypto, are not in the budget).
    const size = loaded.reduce((n, f) => n + statSync(f).size, 0);
    const gz = loaded.reduce((n, f) => n + gzipSync(readFileSync(f)).length, 0);
    const budget = t.budgetKiB === undefined ? '' : `, budget ${t.budgetKiB} KiB`;
    if (!quiet) {
      process.stdout.write(
        `${t.name}: dist/${t.out}/main.js and ${loaded.length - 1} chunk(s) loaded with it ${(size / 1024).toFixed(0)} KiB (${(gz / 1024).toFixed(1)} KiB gzipped${budget})\n`,
      );
    }
    if (t.budgetKiB !== undefined && gz / 1024 > t.budgetKiB) {
      throw new Error(`${t.name} bundle is ${(gz / 1024).toFixed(1)} KiB gzipped, over its ${t.budgetKiB} KiB budget`);
    }
    rmSync(served, { recursive: true, force: true });
    renameSync(outdir, served);
  }
}

/**
 * One entry into `outfile`; what it imports on demand goes into chunks beside it. Returns the files
 * a page loads for it at once: the entry and the chunks it imports statically, transitively.
 */
async function bundle(entry: string, outfile: string): Promise<string[]> {
  const result = await build({
    entryPoints: { [basename(outfile, '.js')]: entry },
    outdir: dirname(outfile),
    splitting: true,
    chunkNames: 'chunk-[hash]',
    metafile: true,
    absWorkingDir: repoRoot,
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
  const outputs = result.metafile.outputs;
  const key = (file: string): string | undefined =>
    Object.keys(outputs).find((k) => resolve(repoRoot, k) === resolve(file));
  const seen = new Set<string>();
  const visit = (k: string | undefined): void => {
    if (k === undefined || seen.has(k)) return;
    seen.add(k);
    for (const imp of outputs[k]?.imports ?? []) if (imp.kind === 'import-statement') visit(imp.path);
  };
  visit(key(outfile));
  return [...seen].map((k) => resolve(repoRoot, k));
}

if (process.argv[1]?.endsWith('build.ts') === true) await buildAll();

/**
 * Installs what the stack needs when it is missing, caching under ~/.cache/causerie: Debian
 * packages (PostgreSQL, Chromium, OpenSSL) through apt, Synapse in a Python venv, LiveKit built
 * with `go install`. Each step shows progress: pip and go take minutes on a cold cache.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { cacheDir, versions } from './layout.ts';
import { StackError } from './processes.ts';

export const synapseVenv = join(cacheDir, `synapse-${versions.synapse}`);
export const synapsePython = join(synapseVenv, 'bin', 'python');
const livekitDir = join(cacheDir, `livekit-${versions.livekit}`);
export const livekitBinary = join(livekitDir, 'livekit-server');
export const chromiumPath = '/usr/bin/chromium';

/** The newest Debian PostgreSQL server binaries directory, if installed. */
export function postgresBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const found = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return found[0] === undefined ? undefined : join(base, found[0], 'bin');
}

function log(line: string): void {
  process.stderr.write(`stack: ${line}\n`);
}

/** Runs a command, streaming its output prefixed, with a heartbeat for long silent phases. */
async function run(part: string, command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<void> {
  const started = Date.now();
  const heartbeat = setInterval(() => {
    log(`${part}: still working (${Math.round((Date.now() - started) / 1000)} s)`);
  }, 20_000);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
      const relay = (chunk: Buffer): void => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line.trim() !== '') process.stderr.write(`  [${part}] ${line}\n`);
        }
      };
      child.stdout.on('data', relay);
      child.stderr.on('data', relay);
      child.on('error', (err) => {
        reject(new StackError(part, `cannot run ${command}: ${err.message}`));
      });
      child.on('exit', (code, signal) => {
        if (code === 0) resolve();
        else reject(new StackError(part, `${command} ${args.join(' ')} failed (${signal ?? `exit ${String(code)}`})`));
      });
    });
  } finally {
    clearInterval(heartbeat);
  }
  log(`${part}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function commandExists(name: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, name)));
}

async function ensureDebianPackages(): Promise<void> {
  const missing: string[] = [];
  if (postgresBinDir() === undefined) missing.push('postgresql');
  if (!existsSync(chromiumPath)) missing.push('chromium');
  if (!commandExists('openssl')) missing.push('openssl');
  // Emoji (reactions, raised hands) in the browser tests and screenshots.
  if (!existsSync('/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf')) missing.push('fonts-noto-color-emoji');
  // `systemd-analyze verify` checks the systemd unit shipped in deploy/.
  if (!commandExists('systemd-analyze')) missing.push('systemd');
  // A homeserver with its clock off, for `causerie doctor`'s clock check (test/disruptive/deploy.test.ts).
  if (!commandExists('faketime')) missing.push('faketime');
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new StackError(
      'apt',
      `missing Debian packages: ${missing.join(', ')} (run: sudo apt-get install -y ${missing.join(' ')})`,
    );
  }
  log(`apt: installing ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt', 'apt-get', ['update', '-q'], env);
  await run('apt', 'apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], env);
}

async function ensureSynapse(): Promise<void> {
  const marker = join(synapseVenv, '.installed');
  if (existsSync(marker)) return;
  log(`synapse: installing matrix-synapse ${versions.synapse} into ${synapseVenv} (about a minute)`);
  rmSync(synapseVenv, { recursive: true, force: true });
  const tmp = `${synapseVenv}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(cacheDir, { recursive: true });
  await run('synapse', 'python3', ['-m', 'venv', tmp]);
  await run('synapse', join(tmp, 'bin', 'python'), [
    '-m',
    'pip',
    'install',
    '--progress-bar',
    'off',
    '--only-binary=:all:',
    `matrix-synapse==${versions.synapse}`,
  ]);
  // A venv's python is a symlink to the system one, so the directory can move after install.
  renameSync(tmp, synapseVenv);
  writeFileSync(marker, `${versions.synapse}\n`);
}

async function ensureLivekit(): Promise<void> {
  if (existsSync(livekitBinary)) return;
  if (!commandExists('go')) throw new StackError('livekit', 'Go is needed to build LiveKit and is not on PATH');
  log(`livekit: building livekit-server v${versions.livekit} with go install (2-3 minutes cold)`);
  const gobin = `${livekitDir}.tmp`;
  rmSync(gobin, { recursive: true, force: true });
  await run('livekit', 'go', ['install', `github.com/livekit/livekit-server/cmd/server@v${versions.livekit}`], {
    ...process.env,
    GOBIN: gobin,
    GOMODCACHE: join(cacheDir, 'go', 'mod'),
    GOCACHE: join(cacheDir, 'go', 'build'),
    GOFLAGS: '-modcacherw',
  });
  mkdirSync(livekitDir, { recursive: true });
  renameSync(join(gobin, 'server'), livekitBinary);
  rmSync(gobin, { recursive: true, force: true });
}

/** Installs every missing piece; a no-op on a warm cache. */
export async function ensureInstalled(): Promise<void> {
  await ensureDebianPackages();
  // pip and go are independent: run them side by side to save minutes on a cold machine.
  await Promise.all([ensureSynapse(), ensureLivekit()]);
}

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../config/load.ts';
import { readRegistration } from '../../config/registration.ts';
import { renderSample } from '../../config/sample.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'causerie-cli-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

const cli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', join(root, 'service', 'cli.ts'), ...args], { cwd: root });

describe('config files', () => {
  it('config.sample.yaml is what the schema says (run npm run config:sample after changing the schema)', () => {
    expect(readFileSync(join(root, 'config', 'config.sample.yaml'), 'utf8')).toBe(renderSample());
  });

  it('the production example is valid, secrets from the environment', () => {
    const config = loadConfig(join(root, 'config', 'examples', 'production.yaml'), {
      CAUSERIE_LIVEKIT_API_SECRET: 'x'.repeat(40),
      CAUSERIE_DATABASE_URL: 'postgres://causerie@db/causerie',
    });
    expect(config.federation.allow_servers).toEqual(['agents.example.gouv.fr', 'partenaire.example.fr']);
    expect(config.database.url).toBe('postgres://causerie@db/causerie');
  });

  it('the production example without its secret fails, naming the key', () => {
    expect(() => loadConfig(join(root, 'config', 'examples', 'production.yaml'), {})).toThrow(/livekit\.api_secret/);
  });

  it('the local stack example is valid', () => {
    expect(loadConfig(join(root, 'config', 'examples', 'local-stack.yaml'), {}).homeserver.domain).toBe(
      'localhost:8481',
    );
  });
});

describe('the causerie command', () => {
  it('generate-registration writes a registration with fresh tokens, and refuses to overwrite it without --force', async () => {
    const out = join(scratch, 'registration.yaml');
    const { stdout } = await cli(
      'generate-registration',
      '-c',
      join(root, 'config', 'examples', 'local-stack.yaml'),
      '-o',
      out,
    );
    expect(stdout).toContain(out);
    const reg = readRegistration(out);
    expect(reg).toMatchObject({
      id: 'causerie',
      url: 'http://127.0.0.1:8480',
      sender_localpart: 'causerie',
      rate_limited: false,
    });
    expect(reg.namespaces.users).toEqual([
      { exclusive: true, regex: '^@(causerie|causerie_[a-z0-9._=\\-/]+):localhost:8481$' },
    ]);
    await expect(
      cli('generate-registration', '-c', join(root, 'config', 'examples', 'local-stack.yaml'), '-o', out),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('--force') as unknown,
    });
  });

  it('start with a bad config exits non-zero and names the key', async () => {
    const bad = join(scratch, 'bad.yaml');
    writeFileSync(
      bad,
      readFileSync(join(root, 'config', 'examples', 'local-stack.yaml'), 'utf8')
        .replace('port: 8480', 'port: eighty')
        .replace('api_key: causerie-dev', 'api_kee: causerie-dev'),
    );
    const err = (await cli('start', '-c', bad).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/listen\.port: .*number/);
    expect(err.stderr).toContain('livekit.api_kee: unknown key');
    expect(err.stderr).toContain('livekit.api_key:');
  });
});

/**
 * The `causerie` command as an admin runs it (bin/causerie, on the project's Node): a sample config,
 * validation with line numbers and a failing exit status, the registration, and the homeserver and
 * LiveKit settings to paste (never the LiveKit secret).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const bin = fileURLToPath(new URL('../../bin/causerie', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'causerie-cli-'));
const secret = 'k'.repeat(48);

function causerie(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', cwd: dir, timeout: 60_000, env: { ...process.env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const config = join(dir, 'config.yaml');
writeFileSync(
  config,
  `homeserver:
  url: http://synapse.internal:8008
  domain: agents.example.net
appservice:
  url: http://causerie.lan:8480
  public_url: https://visio.example.org/
  registration: registration.yaml
livekit:
  url: wss://sfu.example.org
  api_key: causerie-prod
  api_secret: ${secret}
`,
);

describe('the causerie command', () => {
  it('writes a commented sample config, and refuses to overwrite it', () => {
    const out = join(dir, 'sample.yaml');
    expect(causerie('generate-config', '-o', out).status).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^# Causerie configuration/);
    const again = causerie('generate-config', '-o', out);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/exists; pass --force/);
  });

  it('refuses the generated config left unedited, naming each placeholder and its line', () => {
    const sample = join(dir, 'unedited.yaml');
    expect(causerie('generate-config', '-o', sample).status).toBe(0);
    const r = causerie('validate-config', '-c', sample);
    expect(r.status).toBe(1);
    for (const key of ['homeserver.url', 'homeserver.domain', 'appservice.url', 'livekit.url', 'livekit.api_key'])
      expect(r.stderr).toMatch(
        new RegExp(`${sample}:\\d+:\\d+: ${key.replace('.', '\\.')}: still the sample's placeholder`),
      );
    expect(r.stderr).not.toContain('appservice.registration');
  });

  it('validates: a good file passes; a broken one lists each problem with file:line:column and fails', () => {
    expect(causerie('validate-config', '-c', config)).toMatchObject({ status: 0 });
    const broken = join(dir, 'broken.yaml');
    writeFileSync(
      broken,
      readFileSync(config, 'utf8').replace('url: wss://sfu.example.org', 'url: sfu').concat('colour: blue\n'),
    );
    const r = causerie('validate-config', '-c', broken);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${broken}:9:8: livekit.url: `);
    expect(r.stderr).toContain(`${broken}:12:1: colour: unknown key`);
    expect(r.stderr).toContain('2 problems');
  });

  it('writes the registration the homeserver loads', () => {
    expect(causerie('generate-registration', '-c', config).status).toBe(0);
    const reg = parseYaml(readFileSync(join(dir, 'registration.yaml'), 'utf8')) as Record<string, unknown>;
    expect(reg['url']).toBe('http://causerie.lan:8480');
    expect(reg['sender_localpart']).toBe('causerie');
  });

  it('setup: checks the config, writes the registration (keeping an existing one) and the two settings files', () => {
    const setupDir = mkdtempSync(join(tmpdir(), 'causerie-setup-'));
    const cfg = join(setupDir, 'config.yaml');
    writeFileSync(cfg, readFileSync(config, 'utf8'));
    const first = causerie('setup', '-c', cfg);
    expect(first.status, first.stderr).toBe(0);
    const reg = readFileSync(join(setupDir, 'registration.yaml'), 'utf8');
    expect(parseYaml(readFileSync(join(setupDir, 'homeserver.causerie.yaml'), 'utf8'))).toMatchObject({
      matrix_rtc: { transports: [{ livekit_service_url: 'https://visio.example.org' }] },
    });
    expect(parseYaml(readFileSync(join(setupDir, 'livekit.causerie.yaml'), 'utf8'))).toMatchObject({
      room: { auto_create: false },
    });
    expect(readFileSync(join(setupDir, 'livekit.causerie.yaml'), 'utf8')).not.toContain(secret);
    // Run again: the registration (its tokens possibly loaded by the homeserver) is kept.
    expect(causerie('setup', '-c', cfg).stdout).toContain('kept');
    expect(readFileSync(join(setupDir, 'registration.yaml'), 'utf8')).toBe(reg);
    // A broken config: located problems, exit 1, nothing written.
    writeFileSync(cfg, readFileSync(config, 'utf8').replace('url: wss://sfu.example.org', 'url: sfu'));
    const broken = causerie('setup', '-c', cfg);
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/:9:8: livekit\.url: /);
  });

  it('prints the homeserver settings: registration, delayed events, this service as MatrixRTC transport', () => {
    const r = causerie('homeserver-config', '-c', config);
    expect(r.status).toBe(0);
    const yamlPart = parseYaml(r.stdout.split('# If a web server')[0] ?? '') as Record<string, unknown>;
    expect(yamlPart['app_service_config_files']).toEqual([join(dir, 'registration.yaml')]);
    expect(yamlPart['max_event_delay_duration']).toBe('24h');
    expect(yamlPart['matrix_rtc']).toEqual({
      transports: [{ type: 'livekit', livekit_service_url: 'https://visio.example.org' }],
    });
    expect(r.stdout).toContain(
      '"org.matrix.msc4143.rtc_foci":[{"type":"livekit","livekit_service_url":"https://visio.example.org"}]',
    );
  });

  it('prints the LiveKit settings: webhook to us, no auto-created rooms, and never the secret', () => {
    const r = causerie('livekit-config', '-c', config);
    expect(r.status).toBe(0);
    const lk = parseYaml(r.stdout) as Record<string, unknown>;
    expect(lk['webhook']).toEqual({
      api_key: 'causerie-prod',
      urls: ['http://causerie.lan:8480/livekit/webhook'],
    });
    expect(lk['room']).toEqual({ auto_create: false });
    expect(r.stdout).not.toContain(secret);
  });

  it('says how to use it when the command or its config is missing (exit 2)', () => {
    const bare = causerie();
    expect(bare.status).toBe(2);
    expect(bare.stdout).toContain('validate-config -c <config.yaml>');
    expect(causerie('frobnicate', '-c', config)).toMatchObject({ status: 2 });
    expect(causerie('homeserver-config').stderr).toMatch(/needs -c/);
  });
});

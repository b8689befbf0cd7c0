/**
 * `causerie doctor` on the real stack: all ✓ as the stack runs; then, for each thing a deployment
 * gets wrong, a config that breaks exactly that thing gives that ✗ (with its fix) and no other ✗
 * (checks that depend on it show “–”), and a non-zero exit.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

import { eventually } from '../../scripts/stack/clients/matrix.ts';
import { stackEnv } from '../../scripts/stack/clients/env.ts';
import { registrationFile, serviceConfigFile } from '../../scripts/stack/index.ts';
import { livekitBinary } from '../../scripts/stack/install.ts';
import { livekitDev } from '../../scripts/stack/layout.ts';

const bin = fileURLToPath(new URL('../../bin/causerie', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'causerie-doctor-'));

type Config = Record<string, Record<string, unknown>>;
const stackConfig = (): Config => {
  const c = parseYaml(readFileSync(serviceConfigFile, 'utf8')) as Config;
  c['appservice'] = { ...c['appservice'], registration: registrationFile };
  return c;
};

interface Report {
  status: number | null;
  marks: Map<string, string>;
  output: string;
}

function doctor(config: Config): Report {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringifyYaml(config));
  const r = spawnSync(bin, ['doctor', '-c', file], { encoding: 'utf8', timeout: 90_000 });
  const marks = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([✓✗–]) ([^:]+):/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) marks.set(m[2], m[1]);
  }
  return { status: r.status, marks, output: r.stdout + r.stderr };
}

const failed = (r: Report): string[] => [...r.marks].filter(([, m]) => m === '✗').map(([t]) => t);

describe('causerie doctor', () => {
  it('all ✓ on the running stack, exit 0', () => {
    const r = doctor(stackConfig());
    expect(failed(r), r.output).toEqual([]);
    expect(r.marks.size).toBeGreaterThanOrEqual(9);
    expect(r.status).toBe(0);
    expect(r.output).toContain('all checks passed');
  }, 90_000);

  const cases: [string, (c: Config) => void, string, string[]][] = [
    [
      'a wrong LiveKit secret',
      (c) => {
        c['livekit'] = { ...c['livekit'], api_secret: 'not-the-secret-0123456789-0123456789-0123' };
      },
      'LiveKit reachable, API key and secret valid',
      ["LiveKit's webhooks reach this service", 'LiveKit creates rooms only for this service (auto_create off)'],
    ],
    [
      'LiveKit not there',
      (c) => {
        c['livekit'] = { ...c['livekit'], url: 'ws://127.0.0.1:9' };
      },
      'LiveKit reachable, API key and secret valid',
      ["LiveKit's webhooks reach this service", 'LiveKit creates rooms only for this service (auto_create off)'],
    ],
    [
      'a registration the homeserver did not load (another as_token)',
      (c) => {
        const other = join(dir, 'other-registration.yaml');
        const reg = parseYaml(readFileSync(registrationFile, 'utf8')) as Record<string, unknown>;
        writeFileSync(other, stringifyYaml({ ...reg, as_token: 'a'.repeat(64) }));
        c['appservice'] = { ...c['appservice'], registration: other };
      },
      'appservice registration loaded by the homeserver',
      [
        'delayed events (MSC4140) enabled, long enough',
        'homeserver advertises this service as its MatrixRTC transport',
        "the homeserver reaches this service's appservice API (ping, hs_token)",
      ],
    ],
    [
      'this service not answering at its URL',
      (c) => {
        c['appservice'] = { ...c['appservice'], url: 'http://127.0.0.1:9', public_url: stackEnv().service.url };
      },
      'this service running, its public URL and widget reachable',
      [
        "the homeserver reaches this service's appservice API (ping, hs_token)",
        "LiveKit's webhooks reach this service",
      ],
    ],
    [
      'the homeserver URL wrong',
      (c) => {
        c['homeserver'] = { ...c['homeserver'], url: 'http://127.0.0.1:9' };
      },
      'homeserver reachable',
      [
        'appservice registration loaded by the homeserver',
        'delayed events (MSC4140) enabled, long enough',
        'homeserver advertises this service as its MatrixRTC transport',
        "the homeserver reaches this service's appservice API (ping, hs_token)",
        'clock in step with the homeserver and LiveKit',
      ],
    ],
    [
      'a database that does not answer',
      (c) => {
        c['database'] = { url: 'postgres://postgres@127.0.0.1:9/causerie' };
      },
      'database reachable and migrated',
      [],
    ],
  ];

  it.each(cases)(
    '%s: that ✗ only, with a fix, exit 1',
    (_name, breakIt, expected, notChecked) => {
      const config = stackConfig();
      breakIt(config);
      const r = doctor(config);
      expect(failed(r), r.output).toEqual([expected]);
      expect([...r.marks].filter(([, m]) => m === '–').map(([t]) => t)).toEqual(notChecked);
      expect(r.output).toMatch(/\n {4}fix: \S/);
      // No token or secret in what it prints (LiveKit quotes the JWT it refuses).
      expect(r.output).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
      expect(r.output).not.toContain(String(config['livekit']?.['api_secret']));
      expect(r.status).toBe(1);
    },
    90_000,
  );

  it('a public URL that is not the one the homeserver advertises: the transport, well-known and public URL checks say so', () => {
    const config = stackConfig();
    config['appservice'] = { ...config['appservice'], public_url: 'https://visio.example.org' };
    const r = doctor(config);
    expect(failed(r), r.output).toEqual([
      'homeserver advertises this service as its MatrixRTC transport',
      'well-known client file names this service (clients that read it there)',
      'this service running, its public URL and widget reachable',
    ]);
    expect(r.output).toContain('not https://visio.example.org');
  }, 90_000);

  /** A second LiveKit (same keys, its own ports) set up wrong in one way, for the duration of `fn`. */
  async function withLivekit(settings: Record<string, unknown>, fn: (url: string) => void): Promise<void> {
    const lkDir = mkdtempSync(join(tmpdir(), 'causerie-doctor-livekit-'));
    const file = join(lkDir, 'livekit.yaml');
    writeFileSync(
      file,
      stringifyYaml({
        port: 7890,
        bind_addresses: ['127.0.0.1'],
        rtc: { tcp_port: 7891, udp_port: 7892, use_external_ip: false, node_ip: '127.0.0.1' },
        keys: { [livekitDev.apiKey]: livekitDev.apiSecret },
        logging: { level: 'warn' },
        ...settings,
      }),
    );
    const child = spawn(livekitBinary, ['--config', file], { stdio: 'ignore' });
    try {
      await eventually('the second LiveKit', async () =>
        (await fetch('http://127.0.0.1:7890/').catch(() => undefined))?.ok === true ? true : undefined,
      );
      fn('ws://127.0.0.1:7890');
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }

  it('LiveKit creating rooms for anyone (auto_create on): that ✗ only', async () => {
    await withLivekit(
      {
        room: { auto_create: true },
        webhook: { api_key: livekitDev.apiKey, urls: [`${stackEnv().service.url}/livekit/webhook`] },
      },
      (url) => {
        const config = stackConfig();
        config['livekit'] = { ...config['livekit'], url };
        const r = doctor(config);
        expect(failed(r), r.output).toEqual(['LiveKit creates rooms only for this service (auto_create off)']);
        expect(r.output).toContain('auto_create: false');
      },
    );
  }, 90_000);

  it('LiveKit not sending webhooks to us: that ✗ only', async () => {
    await withLivekit({ room: { auto_create: false } }, (url) => {
      const config = stackConfig();
      config['livekit'] = { ...config['livekit'], url };
      const r = doctor(config);
      expect(failed(r), r.output).toEqual(["LiveKit's webhooks reach this service"]);
      expect(r.output).toContain('/livekit/webhook');
    });
  }, 90_000);

  it('an invalid config: the configuration ✗ with each problem located, exit 1', () => {
    const config = stackConfig();
    config['listen'] = { ...config['listen'], port: 'eighty' };
    const r = doctor(config);
    expect(r.output).toContain('✗ configuration valid');
    expect(r.output).toMatch(/:\d+:\d+: listen\.port: /);
    expect(r.status).toBe(1);
  }, 90_000);
});

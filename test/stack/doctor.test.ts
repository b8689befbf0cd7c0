/**
 * `causerie doctor` on the real stack: all ✓ as the stack runs; then, for each thing a deployment
 * gets wrong, a config that breaks exactly that thing gives that ✗ (with its fix) and no other ✗
 * (checks that depend on it show “–”), and a non-zero exit.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

import { registrationFile, serviceConfigFile } from '../../scripts/stack/index.ts';

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
      [],
    ],
    [
      'LiveKit not there',
      (c) => {
        c['livekit'] = { ...c['livekit'], url: 'ws://127.0.0.1:9' };
      },
      'LiveKit reachable, API key and secret valid',
      [],
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
      ],
    ],
    [
      'a public URL the homeserver does not advertise',
      (c) => {
        c['appservice'] = { ...c['appservice'], public_url: 'https://visio.example.org' };
      },
      'homeserver advertises this service as its MatrixRTC transport',
      [],
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

  it('an invalid config: the configuration ✗ with each problem located, exit 1', () => {
    const config = stackConfig();
    config['listen'] = { ...config['listen'], port: 'eighty' };
    const r = doctor(config);
    expect(r.output).toContain('✗ configuration valid');
    expect(r.output).toMatch(/:\d+:\d+: listen\.port: /);
    expect(r.status).toBe(1);
  }, 90_000);
});

/**
 * Token-only mode reads lk-jwt-service's environment variables as lk-jwt-service does, and names
 * every wrong or missing one at once.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { EnvError, tokenOnlyOptionsFromEnv, tokenOnlyRequested } from '../../service/token-only.ts';

const dir = mkdtempSync(join(tmpdir(), 'causerie-env-'));
const secret = 's'.repeat(40);
const base = {
  LIVEKIT_URL: 'wss://sfu.example.org',
  LIVEKIT_KEY: 'devkey',
  LIVEKIT_SECRET: secret,
  LIVEKIT_FULL_ACCESS_HOMESERVERS: 'example.org, example.net',
};

const problems = (env: NodeJS.ProcessEnv): string[] => {
  try {
    tokenOnlyOptionsFromEnv(env);
  } catch (err) {
    expect(err).toBeInstanceOf(EnvError);
    return (err as EnvError).problems;
  }
  return [];
};

describe('token-only mode from lk-jwt-service variables', () => {
  it('is asked for by LIVEKIT_URL, and reads the usual variables with lk-jwt-service defaults', () => {
    expect(tokenOnlyRequested({})).toBe(false);
    expect(tokenOnlyRequested(base)).toBe(true);
    expect(tokenOnlyOptionsFromEnv(base)).toMatchObject({
      livekitUrl: 'wss://sfu.example.org',
      apiKey: 'devkey',
      apiSecret: secret,
      host: '0.0.0.0',
      port: 8080,
      fullAccessServers: ['example.org', 'example.net'],
    });
  });

  it('takes the key and secret from files, or from a `key: secret` file', () => {
    writeFileSync(join(dir, 'key'), 'filekey\n');
    writeFileSync(join(dir, 'secret'), `${secret}\n`);
    writeFileSync(join(dir, 'keys.yaml'), `other: ${secret}\n`);
    const { LIVEKIT_KEY: _k, LIVEKIT_SECRET: _s, ...rest } = base;
    expect(
      tokenOnlyOptionsFromEnv({
        ...rest,
        LIVEKIT_KEY_FROM_FILE: join(dir, 'key'),
        LIVEKIT_SECRET_FROM_FILE: join(dir, 'secret'),
      }),
    ).toMatchObject({ apiKey: 'filekey', apiSecret: secret });
    expect(tokenOnlyOptionsFromEnv({ ...rest, LIVEKIT_KEY_FILE: join(dir, 'keys.yaml') })).toMatchObject({
      apiKey: 'other',
      apiSecret: secret,
    });
  });

  it('binds where LIVEKIT_JWT_BIND or LIVEKIT_JWT_PORT says', () => {
    expect(tokenOnlyOptionsFromEnv({ ...base, LIVEKIT_JWT_BIND: '127.0.0.1:9090' })).toMatchObject({
      host: '127.0.0.1',
      port: 9090,
    });
    expect(tokenOnlyOptionsFromEnv({ ...base, LIVEKIT_JWT_BIND: '[::1]:9090' })).toMatchObject({ host: '::1' });
    expect(tokenOnlyOptionsFromEnv({ ...base, LIVEKIT_JWT_PORT: '6080' })).toMatchObject({
      host: '0.0.0.0',
      port: 6080,
    });
  });

  it('names every missing or wrong variable at once', () => {
    expect(problems({ LIVEKIT_URL: 'http://x' })).toEqual([
      expect.stringMatching(/^LIVEKIT_URL: /),
      expect.stringMatching(/^LIVEKIT_KEY \(or/),
      expect.stringMatching(/^LIVEKIT_SECRET \(or/),
      expect.stringMatching(/^LIVEKIT_FULL_ACCESS_HOMESERVERS: required/),
    ]);
    expect(problems({ ...base, LIVEKIT_SECRET: 'short' })).toEqual([
      expect.stringMatching(/^LIVEKIT_SECRET: at least 32/),
    ]);
    expect(problems({ ...base, LIVEKIT_KEY_FILE: join(dir, 'keys.yaml') })).toEqual([
      expect.stringMatching(/^LIVEKIT_KEY_FILE: not together/),
    ]);
    expect(problems({ ...base, LIVEKIT_JWT_BIND: ':1', LIVEKIT_JWT_PORT: '2' })).toEqual([
      expect.stringMatching(/^LIVEKIT_JWT_BIND: not together/),
    ]);
    expect(problems({ ...base, LIVEKIT_JWT_BIND: 'nowhere' })).toEqual([
      expect.stringMatching(/^LIVEKIT_JWT_BIND: expected/),
    ]);
    expect(problems({ ...base, LIVEKIT_KEY_FROM_FILE: join(dir, 'absent'), LIVEKIT_KEY: '' })).toEqual([
      expect.stringMatching(/^LIVEKIT_KEY_FROM_FILE: cannot read/),
      expect.stringMatching(/^LIVEKIT_KEY \(or/),
    ]);
    expect(problems({ ...base, LIVEKIT_INSECURE_SKIP_VERIFY_TLS: 'YES_I_KNOW_WHAT_I_AM_DOING' })).toEqual([
      expect.stringMatching(/not supported/),
    ]);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ConfigError, loadConfig, parseConfig } from '../../config/load.ts';
import { buildRegistration, readRegistration, writeRegistration } from '../../config/registration.ts';

const scratch = mkdtempSync(join(tmpdir(), 'causerie-config-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

const valid = {
  homeserver: { url: 'https://matrix.example.org', domain: 'example.org' },
  appservice: { url: 'http://causerie.internal:8480', registration: 'registration.yaml' },
  livekit: { url: 'wss://sfu.example.org', api_key: 'key', api_secret: 's'.repeat(40) },
};

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('config', () => {
  it('fills defaults and resolves relative paths against the config file directory', () => {
    const config = parseConfig(valid, '/etc/causerie', {});
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8480, trust_proxy: false });
    expect(config.appservice.sender_localpart).toBe('causerie');
    expect(config.appservice.registration).toBe('/etc/causerie/registration.yaml');
    expect(config.database.url).toBeUndefined();
    expect(config.database.data_dir).toBe('/etc/causerie/data');
  });

  it('names a missing key', () => {
    const { homeserver: _omit, ...rest } = valid;
    expect(errorOf(() => parseConfig(rest, '/', {}))).toMatch(/^homeserver: /m);
  });

  it('names a key of the wrong type and says what was expected', () => {
    const message = errorOf(() => parseConfig({ ...valid, listen: { port: 'eighty' } }, '/', {}));
    expect(message).toMatch(/listen\.port: .*number/);
  });

  it('refuses an unknown key with its path (a typo must not be silently ignored)', () => {
    const message = errorOf(() => parseConfig({ ...valid, livekit: { ...valid.livekit, api_secert: 'x' } }, '/', {}));
    expect(message).toContain('livekit.api_secert: unknown key');
  });

  it('takes secrets from the environment over the file', () => {
    const config = parseConfig({ ...valid, livekit: { url: valid.livekit.url, api_key: 'key' } }, '/', {
      CAUSERIE_LIVEKIT_API_SECRET: 'e'.repeat(32),
      CAUSERIE_DATABASE_URL: 'postgres://u@db/causerie',
    });
    expect(config.livekit.api_secret).toBe('e'.repeat(32));
    expect(config.database.url).toBe('postgres://u@db/causerie');
  });

  it('refuses a short LiveKit secret without echoing it', () => {
    const message = errorOf(() =>
      parseConfig({ ...valid, livekit: { ...valid.livekit, api_secret: 'hunter2' } }, '/', {}),
    );
    expect(message).toContain('livekit.api_secret: must be at least 32 characters');
    expect(message).not.toContain('hunter2');
  });

  it('refuses a short metrics token without echoing it, and a DNS server that is not an address', () => {
    const short = errorOf(() => parseConfig({ ...valid, metrics: { bearer_token: 'letmein' } }, '/', {}));
    expect(short).toContain('metrics.bearer_token');
    expect(short).not.toContain('letmein');
    const dns = errorOf(() => parseConfig({ ...valid, federation: { dns_servers: ['dns.evil.example'] } }, '/', {}));
    expect(dns).toContain('federation.dns_servers');
  });

  it('reports a file that is not YAML or not there', () => {
    const dir = scratch;
    writeFileSync(join(dir, 'bad.yaml'), 'homeserver: [unclosed');
    expect(errorOf(() => loadConfig(join(dir, 'bad.yaml'), {}))).toMatch(/not valid YAML/);
    expect(errorOf(() => loadConfig(join(dir, 'missing.yaml'), {}))).toMatch(/cannot read config file/);
  });
});

describe('appservice registration', () => {
  it('claims the bot and the guest prefix on our domain, exclusively, and nothing else', () => {
    const config = parseConfig({ ...valid, homeserver: { ...valid.homeserver, domain: 'localhost:8481' } }, '/', {});
    const reg = buildRegistration(config);
    const [ns] = reg.namespaces.users;
    expect(ns?.exclusive).toBe(true);
    // The homeserver matches the pattern as given (Python re.match): it must be anchored itself.
    const re = new RegExp(ns?.regex ?? '');
    expect(re.test('@causerie:localhost:8481')).toBe(true);
    expect(re.test('@evil@causerie:localhost:8481')).toBe(false);
    expect(re.test('@causerie:localhost:8481.evil.org')).toBe(false);
    expect(re.test('@causerie_:localhost:8481')).toBe(false);
    expect(re.test('@causerie_guest42:localhost:8481')).toBe(true);
    expect(re.test('@alice:localhost:8481')).toBe(false);
    expect(re.test('@causerie:localhostX8481')).toBe(false);
    expect(re.test('@causerie:localhost:8482')).toBe(false);
  });

  it('generates fresh random tokens and reads them back', () => {
    const config = parseConfig(valid, '/', {});
    const one = buildRegistration(config);
    const two = buildRegistration(config);
    expect(one.as_token).not.toBe(two.as_token);
    expect(one.as_token).not.toBe(one.hs_token);
    const file = join(scratch, 'registration.yaml');
    writeRegistration(file, one);
    expect(readRegistration(file)).toEqual(one);
  });
});

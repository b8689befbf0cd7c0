/**
 * `causerie validate-config`: each broken config is reported with its line and column in the file,
 * the dotted key and what was expected; every problem at once; a valid file has none.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { checkConfigFile, formatProblem, type ConfigProblem } from '../../config/load.ts';

const dir = mkdtempSync(join(tmpdir(), 'causerie-validate-'));

/** A valid config, one key per line: cases replace whole lines. */
const base = [
  'homeserver:', //                                  1
  '  url: https://matrix.example.org', //            2
  '  domain: example.org', //                        3
  'appservice:', //                                  4
  '  url: http://causerie.internal:8480', //         5
  '  registration: registration.yaml', //            6
  'listen:', //                                      7
  '  port: 8480', //                                 8
  'livekit:', //                                     9
  '  url: wss://sfu.example.org', //                 10
  '  api_key: key', //                               11
  `  api_secret: ${'s'.repeat(40)}`, //              12
  'token:', //                                       13
  '  ttl_seconds: 900', //                           14
  'federation:', //                                  15
  '  timeout_ms: 5000', //                           16
  'rate_limit:', //                                  17
  '  per_second: 50', //                             18
];

function check(lines: string[], env: NodeJS.ProcessEnv = {}): ConfigProblem[] {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const result = checkConfigFile(file, env);
  return 'problems' in result ? result.problems : [];
}

const replace = (line: number, text: string): string[] => base.map((l, i) => (i === line - 1 ? text : l));

/** [case, the config's lines, key reported, line reported, what the message says] */
const cases: [string, string[], string, number, RegExp][] = [
  ['homeserver URL not a URL', replace(2, '  url: matrix.example.org'), 'homeserver.url', 2, /URL/i],
  ['homeserver domain empty', replace(3, "  domain: ''"), 'homeserver.domain', 3, /.+/],
  ['appservice URL a number', replace(5, '  url: 8480'), 'appservice.url', 5, /string|URL/i],
  ['registration path a list', replace(6, '  registration: [a, b]'), 'appservice.registration', 6, /string/i],
  ['port out of range', replace(8, '  port: 70000'), 'listen.port', 8, /65535|too big|less/i],
  ['port a word', replace(8, '  port: eighty'), 'listen.port', 8, /number/i],
  ['LiveKit URL not a URL', replace(10, '  url: sfu'), 'livekit.url', 10, /URL/i],
  ['LiveKit key empty', replace(11, "  api_key: ''"), 'livekit.api_key', 11, /.+/],
  ['LiveKit secret too short', replace(12, '  api_secret: short'), 'livekit.api_secret', 12, /.+/],
  ['token lifetime negative', replace(14, '  ttl_seconds: -1'), 'token.ttl_seconds', 14, /.+/],
  ['token lifetime fractional', replace(14, '  ttl_seconds: 1.5'), 'token.ttl_seconds', 14, /int/i],
  ['federation timeout a string', replace(16, '  timeout_ms: soon'), 'federation.timeout_ms', 16, /number/i],
  ['rate limit negative', replace(18, '  per_second: -5'), 'rate_limit.per_second', 18, /.+/],
  ['unknown top-level key', [...base, 'colour: blue'], 'colour', 19, /unknown key/],
  ['unknown nested key (a typo)', replace(14, '  ttl_second: 900'), 'token.ttl_second', 14, /unknown key/],
  ['livekit section a list', [...base.slice(0, 8), 'livekit: [1, 2]', ...base.slice(12)], 'livekit', 9, /object/i],
  ['homeserver URL missing', [base[0] ?? '', ...base.slice(2)], 'homeserver.url', 2, /missing: required/],
  [
    'LiveKit secret missing (its environment variable named)',
    base.filter((_, i) => i !== 11),
    'livekit.api_secret',
    10,
    /CAUSERIE_LIVEKIT_API_SECRET/,
  ],
  [
    'trust_proxy an object',
    [...base.slice(0, 8), '  trust_proxy: {a: 1}', ...base.slice(8)],
    'listen.trust_proxy',
    9,
    /.+/,
  ],
  [
    'full access servers not a list',
    [...base.slice(0, 14), '  full_access_servers: example.org', ...base.slice(14)],
    'token.full_access_servers',
    15,
    /array/i,
  ],
  [
    'remote users an unknown mode',
    [...base.slice(0, 14), '  remote_users: everything', ...base.slice(14)],
    'token.remote_users',
    15,
    /.+/,
  ],
  [
    'allow_servers holding a number list item',
    [...base.slice(0, 16), '  allow_servers: [example.org, 42]', ...base.slice(16)],
    'federation.allow_servers.1',
    17,
    /string/i,
  ],
  [
    'a duplicated key',
    [...base.slice(0, 3), '  domain: other.org', ...base.slice(3)],
    '(YAML)',
    4,
    /unique|duplicate/i,
  ],
  // The parser notices the unclosed list at the end of the file.
  ['not YAML at all', ['homeserver: [unclosed'], '(YAML)', 2, /not valid YAML/],
  ['a list instead of a mapping', ['- a', '- b'], '(top level)', 1, /mapping/],
];

describe('validate-config', () => {
  it('accepts the valid base config', () => {
    expect(check(base)).toEqual([]);
  });

  it.each(cases)('%s: names the key and its line', (_name, lines, key, line, message) => {
    const problems = check(lines);
    const p = problems.find((x) => x.key === key);
    expect(p, JSON.stringify(problems)).toBeDefined();
    expect(p?.line).toBe(line);
    expect(p?.column).toBeGreaterThan(0);
    expect(p?.message).toMatch(message);
  });

  it('reports every problem of a file at once, in file order, as file:line:column: key: message', () => {
    const lines = replace(8, '  port: eighty').map((l, i) => (i === 9 ? '  url: sfu' : l));
    const problems = check([...lines, 'colour: blue']);
    expect(problems.map((p) => p.key)).toEqual(['listen.port', 'livekit.url', 'colour']);
    const none: ConfigProblem = { line: 0, column: 0, key: '', message: '' };
    expect(formatProblem('config.yaml', problems[0] ?? none)).toMatch(/^config\.yaml:8:9: listen\.port: /);
  });

  it('takes a secret from the environment, and reads a missing file as one problem', () => {
    expect(
      check(
        base.filter((_, i) => i !== 11),
        { CAUSERIE_LIVEKIT_API_SECRET: 'e'.repeat(40) },
      ),
    ).toEqual([]);
    const result = checkConfigFile(join(dir, 'absent.yaml'), {});
    expect('problems' in result && result.problems[0]?.message).toMatch(/cannot read config file/);
  });
});

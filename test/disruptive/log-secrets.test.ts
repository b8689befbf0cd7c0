/**
 * Secrets never reach logs: every line the service wrote during this run (and runs before it on
 * this stack) is read, and none holds a JWT, a Matrix access token, the appservice tokens, the
 * LiveKit secret or an `access_token` value. Runs after the main and browser suites, which exercise
 * every path that handles a credential (token requests, OpenID verification, webhooks, refusals).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import { logDir, livekitDev } from '../../scripts/stack/layout.ts';
import { registrationFile } from '../../scripts/stack/index.ts';

describe('logs', () => {
  it('hold no token or secret, in any line the service wrote', () => {
    const file = join(logDir, 'service.log');
    expect(existsSync(file)).toBe(true);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.length).toBeGreaterThan(20);
    const reg = parseYaml(readFileSync(registrationFile, 'utf8')) as { as_token: string; hs_token: string };
    const forbidden: [string, RegExp][] = [
      ['a JWT', /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}/],
      ['a Synapse access token', /\bsyt_[\w-]{10,}/],
      ['an access_token value', /access_token["=:]+\s*"?[\w-]{8,}/],
      ['the appservice as_token', new RegExp(reg.as_token)],
      ['the appservice hs_token', new RegExp(reg.hs_token)],
      ['the LiveKit secret', new RegExp(livekitDev.apiSecret)],
    ];
    const found = lines.flatMap((line, i) =>
      forbidden.filter(([, re]) => re.test(line)).map(([what]) => `line ${i + 1}: ${what}`),
    );
    expect(found).toEqual([]);
  });
});

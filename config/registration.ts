/**
 * The appservice registration: generated from the config for the homeserver admin, and read back
 * at start for the tokens. The bot and guest users live in one exclusive user namespace.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';

import { ConfigError } from './load.ts';
import type { Config } from './schema.ts';

const registrationSchema = z.object({
  id: z.string().min(1),
  url: z.string().nullable(),
  as_token: z.string().min(16),
  hs_token: z.string().min(16),
  sender_localpart: z.string().min(1),
  namespaces: z.object({
    users: z.array(z.object({ exclusive: z.boolean(), regex: z.string() })),
    aliases: z.array(z.object({ exclusive: z.boolean(), regex: z.string() })).default([]),
    rooms: z.array(z.object({ exclusive: z.boolean(), regex: z.string() })).default([]),
  }),
  rate_limited: z.boolean().optional(),
  'de.sorunome.msc2409.push_ephemeral': z.boolean().optional(),
});

export type Registration = z.infer<typeof registrationSchema>;

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const newToken = (): string => randomBytes(32).toString('base64url');

export function buildRegistration(config: Config): Registration {
  const { appservice, homeserver } = config;
  const domain = escapeRegex(homeserver.domain);
  const bot = escapeRegex(appservice.sender_localpart);
  const prefix = escapeRegex(appservice.user_prefix);
  return {
    id: appservice.id,
    url: appservice.url,
    as_token: newToken(),
    hs_token: newToken(),
    sender_localpart: appservice.sender_localpart,
    namespaces: {
      // Anchored: unanchored, the homeserver would match the pattern anywhere in a user id.
      users: [{ exclusive: true, regex: `^@(${bot}|${prefix}[a-z0-9._=\\-/]+):${domain}$` }],
      aliases: [],
      rooms: [],
    },
    rate_limited: false,
    'de.sorunome.msc2409.push_ephemeral': true,
  };
}

export function writeRegistration(path: string, registration: Registration): void {
  writeFileSync(path, stringifyYaml(registration), { mode: 0o600 });
}

export function readRegistration(path: string): Registration {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read appservice registration ${path}: ${(err as Error).message}`);
  }
  const result = registrationSchema.safeParse(raw);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    throw new ConfigError(`invalid appservice registration ${path}:\n${detail}`);
  }
  return result.data;
}

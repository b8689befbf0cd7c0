/**
 * Renders config/config.sample.yaml from the schema: every key with its description and default,
 * required keys marked. `npm run config:sample` rewrites the file; a test fails when the committed
 * file differs from what the schema says.
 */
import { z } from 'zod';

import { configSchema, secretEnv } from './schema.ts';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
}

/** The sample's stand-ins for required values: left as they are, the config cannot work. */
export const placeholders: Record<string, string> = {
  'homeserver.url': 'https://matrix.example.org',
  'homeserver.domain': 'example.org',
  'appservice.url': 'http://causerie.internal:8480',
  'appservice.registration': 'registration.yaml',
  'livekit.url': 'wss://livekit.example.org',
  'livekit.api_key': 'APIxxxxxxxx',
  'livekit.api_secret': 'set-me-or-use-CAUSERIE_LIVEKIT_API_SECRET',
};

/** The stand-ins that cannot be a deployment's value (a registration path may well stay as it is). */
export const unfilledPlaceholders: Record<string, string> = Object.fromEntries(
  Object.entries(placeholders).filter(([key]) => key !== 'appservice.registration'),
);

function scalar(v: unknown): string {
  if (typeof v === 'string') return /^[\w./:@-]*$/.test(v) && v !== '' ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

function render(schema: JsonSchema, path: string[], indent: string, out: string[]): void {
  const required = new Set(schema.required ?? []);
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    const dotted = [...path, key].join('.');
    const env = (secretEnv as Record<string, string>)[dotted];
    for (const line of (prop.description ?? '').split('\n')) out.push(`${indent}# ${line}`.trimEnd());
    if (env !== undefined && !(prop.description ?? '').includes(env)) out.push(`${indent}# Environment: ${env}`);
    if (prop.enum !== undefined) out.push(`${indent}# One of: ${prop.enum.map(String).join(', ')}`);
    if (prop.properties !== undefined) {
      out.push(`${indent}${key}:`);
      render(prop, [...path, key], `${indent}  `, out);
    } else if (required.has(key) && prop.default === undefined) {
      out.push(`${indent}${key}: ${scalar(placeholders[dotted] ?? '')}  # required`);
    } else if (prop.default !== undefined) {
      out.push(
        `${indent}${key}: ${Array.isArray(prop.default) && prop.default.length === 0 ? '[]' : scalar(prop.default)}`,
      );
    } else {
      out.push(`${indent}# ${key}:`);
    }
    out.push('');
  }
}

export function renderSample(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out = [
    '# Causerie configuration: every key, with its default. Generated from config/schema.ts',
    '# by `npm run config:sample`; do not edit by hand.',
    '',
  ];
  render(schema, [], '', out);
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

if (process.argv[1]?.endsWith('sample.ts') === true) {
  const { writeFileSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  writeFileSync(fileURLToPath(new URL('./config.sample.yaml', import.meta.url)), renderSample());
}

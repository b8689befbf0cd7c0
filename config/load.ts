/**
 * Reads a YAML config file, applies secrets from the environment, and validates it against the
 * schema. Every problem is reported with the dotted path of the key and what was expected.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

import { configSchema, secretEnv, type Config } from './schema.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const where = path === '' ? '' : `${path}.`;
    return issue.keys.map((k) => `${where}${k}: unknown key`).join('\n');
  }
  return `${path === '' ? '(top level)' : path}: ${issue.message}`;
}

function setPath(target: Record<string, unknown>, path: string, value: string): void {
  const keys = path.split('.');
  const last = keys.pop();
  if (last === undefined) return;
  let node = target;
  for (const key of keys) {
    const next = node[key];
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) {
      node = next as Record<string, unknown>;
    } else {
      const created: Record<string, unknown> = {};
      node[key] = created;
      node = created;
    }
  }
  node[last] = value;
}

/** Validates an already-parsed config document. Relative paths are resolved against `baseDir`. */
export function parseConfig(raw: unknown, baseDir: string, env: NodeJS.ProcessEnv = process.env): Config {
  const doc: Record<string, unknown> =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : {};
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError('config: the file must be a YAML mapping of keys');
  }
  for (const [path, name] of Object.entries(secretEnv)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(doc, path, value);
  }
  // Copy nested objects we may have mutated so the caller's document stays untouched.
  const result = configSchema.safeParse(structuredClone(doc));
  if (!result.success) {
    throw new ConfigError(`invalid config:\n${result.error.issues.map(describeIssue).join('\n')}`);
  }
  const config = result.data;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  config.appservice.registration = abs(config.appservice.registration);
  config.database.data_dir = abs(config.database.data_dir);
  if (config.federation.ca_file !== undefined) config.federation.ca_file = abs(config.federation.ca_file);
  return config;
}

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  return parseConfig(raw, dirname(resolve(path)), env);
}

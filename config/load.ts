/**
 * Reads a YAML config file, applies secrets from the environment, and validates it against the
 * schema. Every problem is reported with where it is in the file (line and column), the dotted
 * path of the key and what was expected; all problems at once, not the first only.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';

import { configSchema, secretEnv, type Config } from './schema.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** One problem in a config file: where, which key, what was expected. */
export interface ConfigProblem {
  /** 1-based; 0 when the problem has no place in the file (a missing top-level key in an empty file). */
  line: number;
  column: number;
  /** Dotted key path, `(top level)` for the document itself. */
  key: string;
  message: string;
}

export function formatProblem(file: string, p: ConfigProblem): string {
  const where = p.line > 0 ? `${file}:${p.line}:${p.column}` : file;
  return `${where}: ${p.key}: ${p.message}`;
}

/** The file offset of the node at `path`, or of its nearest ancestor present in the document. */
function offsetOf(doc: Document | undefined, path: readonly PropertyKey[], keyNode: boolean): number | undefined {
  if (doc === undefined) return undefined;
  let node: unknown = doc.contents;
  let offset = isNode(node) && node.range ? node.range[0] : undefined;
  for (const [i, step] of path.entries()) {
    if (!isMap(node)) break;
    const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(step));
    if (pair === undefined) break;
    const last = i === path.length - 1;
    const target = last && keyNode ? pair.key : (pair.value ?? pair.key);
    if (isNode(target) && target.range) offset = target.range[0];
    node = pair.value;
  }
  return offset;
}

function problemsOf(
  issues: readonly z.core.$ZodIssue[],
  doc: Document | undefined,
  lines: LineCounter,
): ConfigProblem[] {
  const at = (path: readonly PropertyKey[], keyNode: boolean): { line: number; column: number } => {
    const offset = offsetOf(doc, path, keyNode);
    if (offset === undefined) return { line: 0, column: 0 };
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys)
        out.push({ ...at([...path, k], true), key: [...path, k].join('.'), message: 'unknown key' });
      continue;
    }
    const key = path.length === 0 ? '(top level)' : path.join('.');
    const env = (secretEnv as Record<string, string | undefined>)[key];
    const missing = issue.code === 'invalid_type' && issue.message.endsWith('received undefined');
    const message = missing ? `missing: required${env === undefined ? '' : ` (or set ${env})`}` : issue.message;
    out.push({ ...at(issue.path, false), key, message });
  }
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
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

/** Validates a config; `doc`/`lines` (from the file) place each problem, when there is a file. */
function validate(
  raw: unknown,
  baseDir: string,
  env: NodeJS.ProcessEnv,
  doc?: Document,
  lines = new LineCounter(),
): { config: Config } | { problems: ConfigProblem[] } {
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    return {
      problems: [{ line: 1, column: 1, key: '(top level)', message: 'the file must be a YAML mapping of keys' }],
    };
  }
  const doc0: Record<string, unknown> =
    raw === null || raw === undefined ? {} : { ...(raw as Record<string, unknown>) };
  for (const [path, name] of Object.entries(secretEnv)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(doc0, path, value);
  }
  // Copy nested objects we may have mutated so the caller's document stays untouched.
  const result = configSchema.safeParse(structuredClone(doc0));
  if (!result.success) return { problems: problemsOf(result.error.issues, doc, lines) };
  const config = result.data;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  config.appservice.registration = abs(config.appservice.registration);
  config.database.data_dir = abs(config.database.data_dir);
  if (config.federation.ca_file !== undefined) config.federation.ca_file = abs(config.federation.ca_file);
  return { config };
}

/** Validates an already-parsed config document. Relative paths are resolved against `baseDir`. */
export function parseConfig(raw: unknown, baseDir: string, env: NodeJS.ProcessEnv = process.env): Config {
  const result = validate(raw, baseDir, env);
  if ('problems' in result) {
    throw new ConfigError(`invalid config:\n${result.problems.map((p) => `${p.key}: ${p.message}`).join('\n')}`);
  }
  return result.config;
}

/**
 * Reads and checks a config file: the config, or every problem with its place in the file. With
 * `placeholders` (key → the sample's stand-in), a required value left as generated is a problem too.
 */
export function checkConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  placeholders: Record<string, string> = {},
): { config: Config } | { problems: ConfigProblem[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return {
      problems: [{ line: 0, column: 0, key: '(file)', message: `cannot read config file: ${(err as Error).message}` }],
    };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return {
          line,
          column: col,
          key: '(YAML)',
          message: `not valid YAML: ${e.message.split('\n')[0] ?? e.message}`,
        };
      }),
    };
  }
  const result = validate(doc.toJS(), dirname(resolve(path)), env, doc, lines);
  const unfilled: ConfigProblem[] = [];
  for (const [key, sample] of Object.entries(placeholders)) {
    const keyPath = key.split('.');
    if (doc.getIn(keyPath) !== sample) continue;
    const offset = offsetOf(doc, keyPath, false);
    const { line, col } = offset === undefined ? { line: 0, col: 0 } : lines.linePos(offset);
    unfilled.push({ line, column: col, key, message: `still the sample's placeholder (${sample}): set it` });
  }
  if (unfilled.length === 0) return result;
  const problems = [...('problems' in result ? result.problems : []), ...unfilled];
  return { problems: problems.sort((a, b) => a.line - b.line || a.column - b.column) };
}

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  const result = checkConfigFile(path, env);
  if ('problems' in result) {
    throw new ConfigError(`invalid config:\n${result.problems.map((p) => formatProblem(path, p)).join('\n')}`);
  }
  return result.config;
}

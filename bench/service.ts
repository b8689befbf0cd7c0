/**
 * A separate Causerie process for a benchmark: the stack's config with overrides (its own port),
 * started detached so the load generator does not share its event loop, healthy before use.
 * BENCH_NODE_ARGS adds Node flags (e.g. --cpu-prof).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

import { repoRoot, stateDir } from '../scripts/stack/layout.ts';
import { startDetached, stopGroup, waitHealthy } from '../scripts/stack/processes.ts';

export interface BenchService {
  pid: number;
  origin: string;
  /** The config as written (to read the database URL etc.). */
  config: Record<string, unknown>;
  stop(): Promise<void>;
}

export async function startBenchService(
  part: string,
  port: number,
  overrides: Record<string, unknown> = {},
): Promise<BenchService> {
  const base = parseYaml(readFileSync(join(stateDir, 'causerie.yaml'), 'utf8')) as Record<string, unknown>;
  const config = { ...base, listen: { host: '127.0.0.1', port }, ...overrides };
  const file = join(stateDir, `${part}.yaml`);
  writeFileSync(file, stringifyYaml(config), { mode: 0o600 });
  const pid = startDetached({
    part,
    command: process.execPath,
    args: [
      ...(process.env['BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
      '--import',
      'tsx',
      join(repoRoot, 'service', 'cli.ts'),
      'start',
      '-c',
      file,
    ],
    cwd: repoRoot,
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const origin = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy({ part, pid, timeoutMs: 30_000, check: async () => (await fetch(`${origin}/healthz`)).ok });
  } catch (err) {
    await stopGroup(part, pid);
    throw err;
  }
  return { pid, origin, config, stop: () => stopGroup(part, pid) };
}

/**
 * A small closed-loop HTTP load generator: N workers on keep-alive connections, each sending its
 * next request as soon as the previous one answered, for a fixed time or a fixed list of bodies.
 * Records every latency; bounded in count and time, loopback only.
 */
import { performance } from 'node:perf_hooks';

import { Pool } from 'undici';

export interface LoadResult {
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  seconds: number;
  latenciesMs: number[];
}

export interface LoadOptions {
  origin: string;
  path: string;
  concurrency: number;
  /** Stop after this long… */
  durationMs?: number;
  /** …or after these bodies were each sent once. */
  bodies?: string[];
  body?: string;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(opts.origin, { connections: opts.concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + (opts.durationMs ?? 60_000);
  const take = (): string | undefined => {
    if (opts.bodies !== undefined) return next < opts.bodies.length ? opts.bodies[next++] : undefined;
    return performance.now() < deadline ? opts.body : undefined;
  };
  const worker = async (): Promise<void> => {
    for (let body = take(); body !== undefined; body = take()) {
      const t0 = performance.now();
      try {
        const res = await pool.request({
          method: 'POST',
          path: opts.path,
          body,
          headers: { 'content-type': 'application/json' },
        });
        await res.body.dump();
        latencies.push(performance.now() - t0);
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { requests: latencies.length, errors, statuses, seconds, latenciesMs: latencies };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export function summarize(label: string, r: LoadResult): string {
  const s = [...r.latenciesMs].sort((a, b) => a - b);
  const f = (n: number): string => n.toFixed(2);
  return `${label}: ${r.requests} requests in ${r.seconds.toFixed(1)} s = ${Math.round(r.requests / r.seconds)} req/s; latency ms p50 ${f(percentile(s, 50))} p90 ${f(percentile(s, 90))} p99 ${f(percentile(s, 99))} max ${f(s.at(-1) ?? Number.NaN)}; non-200: ${r.errors} ${JSON.stringify(r.statuses)}`;
}

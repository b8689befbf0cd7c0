/**
 * `causerie doctor -c config.yaml`: checks a deployment part by part, against the real servers, and
 * says for each what is wrong and the exact fix (the checks: doctor-checks.ts). A check that needs an
 * earlier one to pass is not run when that one failed (shown "–", not ✗), so one broken thing gives
 * one ✗. Nothing it prints carries a token or secret.
 */
import { RoomServiceClient } from 'livekit-server-sdk';
import { fetch, type RequestInit } from 'undici';

import type { Config } from '../config/schema.ts';
import { livekitHttpUrl } from './start.ts';

export type CheckState = 'ok' | 'failed' | 'not_checked';

export interface CheckResult {
  id: string;
  title: string;
  state: CheckState;
  /** What was found (✓) or what is wrong (✗). */
  detail: string;
  /** The exact fix, for ✗. */
  fix?: string;
}

/** A check: throws a Problem for ✗, returns what it found for ✓. */
export class Problem extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

export interface Check {
  id: string;
  title: string;
  needs?: string[];
  run: () => Promise<string>;
}

export const TIMEOUT_MS = 5_000;
/** Delayed events must reach at least this far (our delayed leaves are seconds to minutes). */
export const MIN_DELAY_MS = 60 * 60_000;
/** More clock difference than this breaks token lifetimes and signatures. */
export const MAX_SKEW_MS = 30_000;
/** How long a probe room's webhook may take to arrive. */
export const WEBHOOK_WAIT_MS = 5_000;

export async function getJson(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: unknown; date?: string }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  const date = res.headers.get('date') ?? undefined;
  return { status: res.status, body, ...(date === undefined ? {} : { date }) };
}

export const livekitClient = (config: Config): RoomServiceClient =>
  new RoomServiceClient(livekitHttpUrl(config.livekit.url), config.livekit.api_key, config.livekit.api_secret, {
    requestTimeout: TIMEOUT_MS / 1000,
  });

export const field = (v: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (o, k) => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined),
    v,
  );

export const reachFailure = (what: string, url: string, err: unknown): Problem =>
  new Problem(
    `${what} cannot be reached at ${url}: ${(err as Error).message}`,
    `check that ${url} is the right URL and that the server runs and is reachable from this machine`,
  );

/** Servers quote the token they refused: never print one (a JWT, or a bearer-looking value). */
const redact = (text: string): string =>
  text.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, '<token>').replace(/(access_token=)[^&\s]+/g, '$1<token>');

/** Runs the checks in order; a check whose prerequisite failed is not run. */
export async function runDoctor(checks: Check[]): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const passed = new Set<string>();
  for (const check of checks) {
    const blocked = check.needs?.find((n) => !passed.has(n));
    if (blocked !== undefined) {
      results.push({
        id: check.id,
        title: check.title,
        state: 'not_checked',
        detail: `needs “${checks.find((c) => c.id === blocked)?.title ?? blocked}”`,
      });
      continue;
    }
    try {
      const detail = await check.run();
      passed.add(check.id);
      results.push({ id: check.id, title: check.title, state: 'ok', detail });
    } catch (err) {
      const fix = err instanceof Problem ? err.fix : 'see the detail';
      results.push({ id: check.id, title: check.title, state: 'failed', detail: redact((err as Error).message), fix });
    }
  }
  return results;
}

export function formatReport(results: CheckResult[]): string {
  const mark = { ok: '✓', failed: '✗', not_checked: '–' } as const;
  const lines = results.map((r) => {
    const head = `${mark[r.state]} ${r.title}: ${r.detail}`;
    return r.fix === undefined ? head : `${head}\n    fix: ${r.fix}`;
  });
  const failed = results.filter((r) => r.state === 'failed').length;
  lines.push(failed === 0 ? 'all checks passed' : `${failed} check${failed > 1 ? 's' : ''} failed`);
  return lines.join('\n');
}

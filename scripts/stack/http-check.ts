/**
 * Small HTTP helpers for health checks: every call has a timeout; TLS to the homeservers' federation
 * listeners trusts the stack's own certificate.
 */
import { readFileSync } from 'node:fs';

import { Agent, fetch } from 'undici';

const agents = new Map<string, Agent>();

/** An undici dispatcher that trusts exactly the given PEM file (the stack's self-signed cert). */
export function trustingAgent(caFile: string): Agent {
  let agent = agents.get(caFile);
  if (agent === undefined) {
    agent = new Agent({ connect: { ca: readFileSync(caFile, 'utf8') } });
    agents.set(caFile, agent);
  }
  return agent;
}

export async function getText(
  url: string,
  opts: { caFile?: string; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(opts.timeoutMs ?? 2_000),
    ...(opts.caFile === undefined ? {} : { dispatcher: trustingAgent(opts.caFile) }),
  });
  return { status: res.status, body: await res.text() };
}

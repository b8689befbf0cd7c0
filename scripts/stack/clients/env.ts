/**
 * What tests know about the running stack: .stack/env.json written by `stack:up`, and an HTTP
 * client that trusts the homeservers' self-signed federation certificate.
 */
import { Agent, fetch, type RequestInit, type Response } from 'undici';

import { readStackEnv, type StackEnv } from '../index.ts';
import { trustingAgent } from '../http-check.ts';

export type { StackEnv };

let cached: StackEnv | undefined;
export function stackEnv(): StackEnv {
  cached ??= readStackEnv();
  return cached;
}

export type HomeserverEnv = StackEnv['homeservers'][number];

export function homeserver(name: 'a' | 'b'): HomeserverEnv {
  const hs = stackEnv().homeservers.find((h) => h.name === name);
  if (hs === undefined) throw new Error(`homeserver ${name} missing from .stack/env.json`);
  return hs;
}

/** fetch with a timeout; https URLs of the stack trust its certificate. */
export function stackFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const dispatcher: Agent | undefined = url.startsWith('https:') ? trustingAgent(stackEnv().tls_ca) : undefined;
  return fetch(url, {
    signal: AbortSignal.timeout(15_000),
    ...init,
    ...(dispatcher === undefined ? {} : { dispatcher }),
  });
}

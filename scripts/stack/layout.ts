/**
 * Where the local stack lives: cache of installed tools (shared between checkouts), per-checkout
 * state directory (.stack/), and the loopback ports of each part. Everything binds 127.0.0.1.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const cacheDir = process.env['CAUSERIE_CACHE'] ?? join(homedir(), '.cache', 'causerie');
export const stateDir = join(repoRoot, '.stack');
export const logDir = join(stateDir, 'logs');
export const runDir = join(stateDir, 'run');
export const envFile = join(stateDir, 'env.json');

export const versions = {
  synapse: '1.163.2',
  livekit: '1.13.5',
} as const;

export const ports = {
  service: 8480,
  synapseA: { federation: 8481, client: 8491 },
  synapseB: { federation: 8482, client: 8492 },
  postgres: 8483,
  /** Element Call (test dependency) served on its own origin, as Element Web deploys it. */
  elementCall: 8484,
  livekit: { http: 7880, rtcTcp: 7881, rtcUdp: 7882 },
  /**
   * The partner deployment of homeserver B (multi-SFU calls): its own LiveKit and its own token
   * service (Causerie in token-only mode, as an Element Call deployment runs lk-jwt-service).
   */
  partnerLivekit: { http: 7886, rtcTcp: 7887, rtcUdp: 7888 },
  partnerService: 8488,
} as const;

export const host = '127.0.0.1';

/** Fixed development credentials: the stack is loopback-only and throwaway. */
export const livekitDev = {
  apiKey: 'causerie-dev',
  apiSecret: 'causerie-dev-secret-not-for-production-0123456789',
} as const;

export const logFile = (part: string): string => join(logDir, `${part}.log`);

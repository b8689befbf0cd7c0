/**
 * Token-only mode: the token service alone, started from lk-jwt-service's environment variables
 * and no config file, so an existing Element Call deployment can swap the binary:
 *   LIVEKIT_URL                                         LiveKit's WebSocket URL (required)
 *   LIVEKIT_KEY / LIVEKIT_KEY_FROM_FILE                  API key, or a file holding it
 *   LIVEKIT_SECRET / LIVEKIT_SECRET_FROM_FILE            API secret, or a file holding it
 *   LIVEKIT_KEY_FILE                                     a file with a `key: secret` line (instead)
 *   LIVEKIT_JWT_BIND (default `:8080`) / LIVEKIT_JWT_PORT  where to listen (one of them)
 *   LIVEKIT_FULL_ACCESS_HOMESERVERS                      comma-separated; `*` for all (required)
 * and, for homeservers on private addresses or with a private CA (labs, tests):
 *   CAUSERIE_PRIVATE_ADDRESS_SERVERS, CAUSERIE_FEDERATION_CA_FILE.
 * Without the appservice there is no view of rooms: as lk-jwt-service, any user whose OpenID token
 * their homeserver confirms gets a token for any room; full-access servers' users may start calls
 * (create the LiveKit room), others join running ones. The full service (`causerie start -c`) also
 * checks membership and power levels and takes access away on leave, kick and ban.
 */
import { readFileSync } from 'node:fs';

import { RoomServiceClient } from 'livekit-server-sdk';

import type { Logger } from '../core/log.ts';
import { createFederation } from '../federation/federation.ts';
import { LivekitIdentities } from '../livekit/identities.ts';
import { LivekitRooms } from '../livekit/rooms.ts';
import { AuditLog } from '../schema/audit-log.ts';
import { openDatabase } from '../schema/database.ts';
import { migrate } from '../schema/migrate.ts';
import { closeServer, createHttpApp, createHttpServer, listen } from '../server/http.ts';
import { RateLimiter } from '../server/rate-limit.ts';
import { tokenRoutes } from '../server/token-api.ts';
import { TokenService } from '../server/token-service.ts';
import { livekitHttpUrl } from './start.ts';

export interface TokenOnlyOptions {
  livekitUrl: string;
  apiKey: string;
  apiSecret: string;
  host: string;
  port: number;
  fullAccessServers: string[];
  privateAddressServers: string[];
  caFile: string | undefined;
}

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`cannot start from the environment:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'EnvError';
  }
}

/** Whether the environment asks for token-only mode (lk-jwt-service's variables). */
export const tokenOnlyRequested = (env: NodeJS.ProcessEnv): boolean => (env['LIVEKIT_URL'] ?? '') !== '';

const list = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** Reads lk-jwt-service's variables; every problem at once, naming the variable. */
export function tokenOnlyOptionsFromEnv(env: NodeJS.ProcessEnv): TokenOnlyOptions {
  const problems: string[] = [];
  const get = (name: string): string | undefined => (env[name] ?? '') || undefined;
  const fromFile = (name: string): string | undefined => {
    const path = get(name);
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (err) {
      problems.push(`${name}: cannot read ${path} (${(err as Error).message})`);
      return undefined;
    }
  };

  const livekitUrl = get('LIVEKIT_URL') ?? '';
  if (!/^wss?:\/\/[^\s/]+/.test(livekitUrl)) problems.push('LIVEKIT_URL: expected a ws:// or wss:// URL');

  let apiKey = get('LIVEKIT_KEY') ?? fromFile('LIVEKIT_KEY_FROM_FILE');
  let apiSecret = get('LIVEKIT_SECRET') ?? fromFile('LIVEKIT_SECRET_FROM_FILE');
  const keyFile = fromFile('LIVEKIT_KEY_FILE');
  if (get('LIVEKIT_KEY_FILE') !== undefined) {
    if (apiKey !== undefined || apiSecret !== undefined)
      problems.push('LIVEKIT_KEY_FILE: not together with LIVEKIT_KEY / LIVEKIT_SECRET');
    const m = /^\s*([^:\s]+)\s*:\s*(\S+)\s*$/m.exec(keyFile ?? '');
    if (m?.[1] === undefined || m[2] === undefined) {
      if (keyFile !== undefined) problems.push('LIVEKIT_KEY_FILE: expected a line `key: secret`');
    } else {
      apiKey = m[1];
      apiSecret = m[2];
    }
  }
  if (apiKey === undefined && get('LIVEKIT_KEY_FILE') === undefined)
    problems.push('LIVEKIT_KEY (or LIVEKIT_KEY_FROM_FILE, LIVEKIT_KEY_FILE): required');
  if (apiSecret === undefined && get('LIVEKIT_KEY_FILE') === undefined)
    problems.push('LIVEKIT_SECRET (or LIVEKIT_SECRET_FROM_FILE, LIVEKIT_KEY_FILE): required');
  else if (apiSecret !== undefined && apiSecret.length < 32)
    problems.push('LIVEKIT_SECRET: at least 32 characters (LiveKit refuses shorter secrets)');

  let host = '0.0.0.0';
  let port = 8080;
  const bind = get('LIVEKIT_JWT_BIND');
  const portVar = get('LIVEKIT_JWT_PORT');
  if (bind !== undefined && portVar !== undefined)
    problems.push('LIVEKIT_JWT_BIND: not together with LIVEKIT_JWT_PORT');
  if (bind !== undefined) {
    const m = /^(.*):(\d{1,5})$/.exec(bind);
    if (m?.[2] === undefined) problems.push('LIVEKIT_JWT_BIND: expected [host]:port, e.g. :8080');
    else {
      host = (m[1] ?? '').replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
      port = Number(m[2]);
    }
  } else if (portVar !== undefined) port = Number(portVar);
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push('LIVEKIT_JWT_PORT: expected a port, 1–65535');

  const fullAccessServers = list(get('LIVEKIT_FULL_ACCESS_HOMESERVERS'));
  if (fullAccessServers.length === 0)
    problems.push('LIVEKIT_FULL_ACCESS_HOMESERVERS: required (your homeserver names, comma-separated; * for all)');
  if (get('LIVEKIT_INSECURE_SKIP_VERIFY_TLS') !== undefined)
    problems.push(
      'LIVEKIT_INSECURE_SKIP_VERIFY_TLS: not supported (homeservers are always verified); trust a private CA with CAUSERIE_FEDERATION_CA_FILE',
    );

  if (problems.length > 0) throw new EnvError(problems);
  return {
    livekitUrl,
    apiKey: apiKey ?? '',
    apiSecret: apiSecret ?? '',
    host,
    port,
    fullAccessServers,
    privateAddressServers: list(get('CAUSERIE_PRIVATE_ADDRESS_SERVERS')),
    caFile: get('CAUSERIE_FEDERATION_CA_FILE'),
  };
}

/** The token service alone, on an in-memory database (identities and audit for this run only). */
export async function startTokenOnly(
  opts: TokenOnlyOptions,
  log: Logger,
): Promise<{ url: string; stop(): Promise<void> }> {
  const db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
  const { http: federation, verifier } = createFederation({
    timeoutMs: 5_000,
    caFile: opts.caFile,
    dnsServers: [],
    dnsTimeoutMs: 2_000,
    privateAddressServers: opts.privateAddressServers,
    discoveryCacheMs: 3_600_000,
  });
  const roomService = new RoomServiceClient(livekitHttpUrl(opts.livekitUrl), opts.apiKey, opts.apiSecret, {
    requestTimeout: 10,
  });
  const audit = new AuditLog(db, log);
  const tokens = new TokenService(
    {
      verifier,
      identities: new LivekitIdentities(db),
      databaseAvailable: () => db.available(),
      livekitRooms: new LivekitRooms(roomService),
      audit,
      // No appservice to keep a delayed leave alive: the client keeps its own (it is told so by
      // /delegate_delayed_leave answering 404).
      delayedLeaves: { register: () => Promise.resolve() },
      log,
    },
    {
      livekitUrl: opts.livekitUrl,
      apiKey: opts.apiKey,
      apiSecret: opts.apiSecret,
      ttlSeconds: 900,
      allowServers: [],
      denyServers: [],
      policy: { localServer: '', fullAccessServers: opts.fullAccessServers, remoteUsers: 'publish' },
    },
  );
  const app = createHttpApp({
    db,
    log,
    routers: [tokenRoutes(tokens, new RateLimiter({ perSecond: 50, burst: 200 }))],
    readiness: {
      livekit: async () =>
        (await fetch(`${livekitHttpUrl(opts.livekitUrl)}/`, { signal: AbortSignal.timeout(2_000) })).ok,
    },
  });
  const server = createHttpServer(app);
  const { port } = await listen(server, opts.port, opts.host);
  const url = `http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${port}`;
  log.info('listening', { url, mode: 'token_only', full_access_servers: opts.fullAccessServers.join(',') });
  return {
    url,
    async stop() {
      await closeServer(server);
      await audit.flush();
      await federation.close();
      await db.close();
    },
  };
}

/**
 * Resolves a Matrix server name to where its federation API answers, following the server-server
 * spec: IP literal; explicit port; /.well-known/matrix/server delegation; SRV _matrix-fed._tcp,
 * then the deprecated _matrix._tcp; else port 8448. Every address found goes through the SSRF
 * guard before anything connects to it. Results are cached for a while; failures only briefly.
 */
import { isIP } from 'node:net';

import { isForbiddenAddress } from './address-guard.ts';
import { parseServerName } from '../core/matrix-ids.ts';
import { ApiError } from '../core/errors.ts';

export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

/**
 * Why a DNS question got no answer. Discovery tells them apart: "no such name" is an answer, a
 * timeout is not, and a resolver at its cap refused to ask at all.
 */
export type DnsFailureKind = 'not_found' | 'timed_out' | 'busy';

export class DnsFailure extends Error {
  constructor(
    readonly kind: DnsFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'DnsFailure';
  }
}

/**
 * DNS as discovery needs it; swapped in tests to inject answers without sending a packet. Rejects
 * with a DnsFailure; any other error counts as "not found".
 */
export interface DnsResolver {
  lookup(hostname: string): Promise<string[]>;
  resolveSrv(name: string): Promise<SrvRecord[]>;
}

/** Where to send federation requests for one server name. */
export interface FederationEndpoint {
  serverName: string;
  /** Host for the URL, TLS SNI/verification and the Host header. */
  host: string;
  port: number;
  /** Guarded addresses to connect to. */
  addresses: string[];
}

/** Fetches /.well-known/matrix/server from an endpoint; undefined when there is none. */
export type WellKnownFetcher = (endpoint: FederationEndpoint) => Promise<unknown>;

export interface DiscoveryOptions {
  dns: DnsResolver;
  fetchWellKnown: WellKnownFetcher;
  /** Server names allowed to resolve to private/loopback addresses. */
  privateAddressServers: readonly string[];
  cacheMs: number;
  now?: () => number;
}

const FAILURE_CACHE_MS = 5_000;

/**
 * "No such name" becomes an empty answer (the caller decides what that means); a lookup that could
 * not be completed becomes the error the client sees, never "no such name".
 */
function noAnswer(serverName: string, err: unknown): [] {
  if (err instanceof DnsFailure && err.kind === 'timed_out') {
    throw new ApiError('upstream_timeout', `Resolving the homeserver ${serverName} took too long`, {
      reason: 'server_resolution_timeout',
    });
  }
  if (err instanceof DnsFailure && err.kind === 'busy') {
    throw new ApiError('unavailable', `Too many homeserver names are being resolved; try again shortly`, {
      reason: 'server_resolution_busy',
    });
  }
  return [];
}

export class ServerDiscovery {
  private readonly cache = new Map<string, { until: number; result: Promise<FederationEndpoint> }>();
  private readonly now: () => number;

  constructor(private readonly opts: DiscoveryOptions) {
    this.now = opts.now ?? Date.now;
  }

  resolve(serverName: string): Promise<FederationEndpoint> {
    const hit = this.cache.get(serverName);
    if (hit !== undefined && hit.until > this.now()) return hit.result;
    const result = this.discover(serverName);
    const entry = { until: this.now() + this.opts.cacheMs, result };
    this.cache.set(serverName, entry);
    result.catch(() => {
      // Failures are kept a few seconds only, to absorb bursts without pinning an outage.
      entry.until = Math.min(entry.until, this.now() + FAILURE_CACHE_MS);
    });
    if (this.cache.size > 10_000) this.evict();
    return result;
  }

  /** Drops expired entries, then the oldest ones, so the cache stays bounded whatever the names. */
  private evict(): void {
    const now = this.now();
    for (const [key, entry] of this.cache) if (entry.until <= now) this.cache.delete(key);
    for (const key of this.cache.keys()) {
      if (this.cache.size <= 8_000) break;
      this.cache.delete(key);
    }
  }

  /** Resolves a host to addresses and refuses the forbidden ones before anything connects. */
  private async guardedLookup(serverName: string, host: string): Promise<string[]> {
    const addresses =
      isIP(host) !== 0 ? [host] : await this.opts.dns.lookup(host).catch((err: unknown) => noAnswer(serverName, err));
    if (addresses.length === 0) {
      throw new ApiError('upstream_failed', `Could not resolve the homeserver ${serverName}`, {
        reason: 'server_unresolvable',
      });
    }
    if (!this.opts.privateAddressServers.includes(serverName)) {
      const bad = addresses.filter(isForbiddenAddress);
      if (bad.length > 0) {
        throw new ApiError('forbidden', `The homeserver ${serverName} resolves to an address that is not allowed`, {
          reason: 'server_address_forbidden',
        });
      }
    }
    // IPv4 first: loopback test homeservers bind 127.0.0.1 only.
    return [...addresses].sort((a, b) => isIP(a) - isIP(b));
  }

  /**
   * An endpoint on `host:port` on behalf of `serverName` (whose private-address allowance applies),
   * its addresses vetted by the guard. For requests that are not federation API calls, such as a
   * user's client-server API found through .well-known/matrix/client.
   */
  vetted(serverName: string, host: string, port: number): Promise<FederationEndpoint> {
    return this.endpoint(serverName, host, port);
  }

  private async endpoint(
    serverName: string,
    host: string,
    port: number,
    connectHost = host,
  ): Promise<FederationEndpoint> {
    return { serverName, host, port, addresses: await this.guardedLookup(serverName, connectHost) };
  }

  private async srv(serverName: string, name: string): Promise<FederationEndpoint | undefined> {
    for (const service of ['_matrix-fed._tcp', '_matrix._tcp']) {
      const records = await this.opts.dns
        .resolveSrv(`${service}.${name}`)
        .catch((err: unknown) => noAnswer(serverName, err));
      const best = [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight)[0];
      if (best !== undefined && best.name !== '' && best.name !== '.') {
        return this.endpoint(serverName, name, best.port, best.name);
      }
    }
    return undefined;
  }

  private async discover(serverName: string): Promise<FederationEndpoint> {
    const parsed = parseServerName(serverName);
    if (parsed === undefined) {
      throw new ApiError('invalid_param', 'matrix_server_name is not a valid server name', {
        reason: 'bad_server_name',
      });
    }
    // 1-2. IP literal or explicit port: connect there, no delegation.
    if (parsed.ip || parsed.port !== undefined) return this.endpoint(serverName, parsed.host, parsed.port ?? 8448);

    // 3. Delegation through /.well-known/matrix/server on port 443.
    const wellKnown = await this.opts
      .fetchWellKnown(await this.endpoint(serverName, parsed.host, 443))
      .catch((err: unknown) => {
        // A guard refusal stands; any other failure just means "no delegation".
        if (err instanceof ApiError && err.kind === 'forbidden') throw err;
        return undefined;
      });
    const delegated =
      typeof wellKnown === 'object' &&
      wellKnown !== null &&
      typeof (wellKnown as Record<string, unknown>)['m.server'] === 'string'
        ? parseServerName((wellKnown as Record<string, string>)['m.server'] ?? '')
        : undefined;
    if (delegated !== undefined) {
      if (delegated.ip || delegated.port !== undefined)
        return this.endpoint(serverName, delegated.host, delegated.port ?? 8448);
      return (await this.srv(serverName, delegated.host)) ?? this.endpoint(serverName, delegated.host, 8448);
    }
    // 4-6. SRV records of the server name itself, else port 8448.
    return (await this.srv(serverName, parsed.host)) ?? this.endpoint(serverName, parsed.host, 8448);
  }
}

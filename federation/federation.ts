/**
 * Reaching other homeservers as one piece: the vetted HTTP client, server discovery (well-known,
 * SRV, DNS through the bounded resolver) and the OpenID verifier on top of both. The service, its
 * token-only mode and `causerie doctor` all build theirs here.
 */
import { BoundedDnsResolver } from './dns-resolver.ts';
import { FederationHttp } from './federation-http.ts';
import { OpenIdVerifier } from './openid-verify.ts';
import { ServerDiscovery, type DnsResolver } from './server-discovery.ts';

export interface FederationOptions {
  timeoutMs: number;
  caFile?: string | undefined;
  dnsServers: readonly string[];
  dnsTimeoutMs: number;
  privateAddressServers: readonly string[];
  discoveryCacheMs: number;
  /** DNS answers instead of the resolver (tests). */
  dns?: DnsResolver | undefined;
}

export interface Federation {
  http: FederationHttp;
  discovery: ServerDiscovery;
  verifier: OpenIdVerifier;
}

export function createFederation(opts: FederationOptions): Federation {
  const http = new FederationHttp({ timeoutMs: opts.timeoutMs, caFile: opts.caFile });
  const discovery = new ServerDiscovery({
    dns: opts.dns ?? new BoundedDnsResolver({ servers: opts.dnsServers, timeoutMs: opts.dnsTimeoutMs }),
    fetchWellKnown: (endpoint) => http.wellKnown(endpoint),
    privateAddressServers: opts.privateAddressServers,
    cacheMs: opts.discoveryCacheMs,
  });
  const verifier = new OpenIdVerifier({
    resolve: (name) => discovery.resolve(name),
    getJson: (endpoint, path) => http.getJson(endpoint, path),
  });
  return { http, discovery, verifier };
}

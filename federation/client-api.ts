/**
 * Requests to a user's *own* client-server API, on our behalf (delayed-event management needs no
 * access token: the delay id is the capability). For users of our homeserver, the configured
 * homeserver URL; for others, the base URL their server publishes in /.well-known/matrix/client.
 * The URL a client claims (`delay_cs_api_url`) is never used: it would let anyone point us anywhere.
 * Remote addresses go through the SSRF guard like federation requests, and only over https: the
 * delay id is the capability, so it must not cross the network in the clear (our own configured
 * homeserver may be plain http on a private network).
 */
import { request } from 'undici';

import { invalidParam, upstreamFailed } from '../core/errors.ts';
import type { FederationHttp, JsonResponse } from './federation-http.ts';
import { serverOfUserId } from '../core/matrix-ids.ts';
import { type FederationEndpoint, type ServerDiscovery } from './server-discovery.ts';
import { parseServerName } from '../core/matrix-ids.ts';

/** A path without its trailing slashes (a loop: a regex would backtrack on a long run of them). */
function withoutTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === '/') end--;
  return path.slice(0, end);
}

export interface ClientApiOptions {
  /** Server names whose client API may be plain http (`federation.private_address_servers`: a local test federation). */
  plainHttpServers?: readonly string[];
  localServer: string;
  localUrl: string;
  discovery: Pick<ServerDiscovery, 'vetted'>;
  http: Pick<FederationHttp, 'requestJson'>;
  timeoutMs: number;
  cacheMs?: number;
  now?: () => number;
}

interface RemoteBase {
  serverName: string;
  scheme: 'http' | 'https';
  host: string;
  port: number;
  basePath: string;
}

export class ClientApi {
  private readonly bases = new Map<string, { until: number; base: Promise<RemoteBase> }>();
  private readonly now: () => number;

  constructor(private readonly opts: ClientApiOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** POSTs JSON to `path` on the client-server API of `userId`'s homeserver. */
  async post(userId: string, path: string, body: unknown): Promise<JsonResponse> {
    const server = serverOfUserId(userId);
    if (server === undefined) throw invalidParam('Not a user id');
    if (server === this.opts.localServer) {
      const res = await request(`${this.opts.localUrl.replace(/\/+$/, '')}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
      });
      const text = await res.body.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, body: json };
    }
    const base = await this.base(server);
    const endpoint: FederationEndpoint = await this.opts.discovery.vetted(server, base.host, base.port);
    return this.opts.http.requestJson(endpoint, `${base.basePath}${path}`, {
      method: 'POST',
      body,
      scheme: base.scheme,
    });
  }

  private base(serverName: string): Promise<RemoteBase> {
    const hit = this.bases.get(serverName);
    if (hit !== undefined && hit.until > this.now()) return hit.base;
    const base = this.discover(serverName);
    const entry = { until: this.now() + (this.opts.cacheMs ?? 600_000), base };
    this.bases.set(serverName, entry);
    base.catch(() => {
      this.bases.delete(serverName);
    });
    return base;
  }

  private async discover(serverName: string): Promise<RemoteBase> {
    const parsed = parseServerName(serverName);
    if (parsed === undefined) throw invalidParam('Not a server name');
    const wk = await this.opts.http.requestJson(
      await this.opts.discovery.vetted(serverName, parsed.host, parsed.port ?? 443),
      '/.well-known/matrix/client',
    );
    const hs =
      typeof wk.body === 'object' && wk.body !== null
        ? (wk.body as Record<string, unknown>)['m.homeserver']
        : undefined;
    const raw = typeof hs === 'object' && hs !== null ? (hs as Record<string, unknown>)['base_url'] : undefined;
    if (wk.status !== 200 || typeof raw !== 'string' || raw.length > 2048) {
      throw upstreamFailed(`${serverName} publishes no client-server API`, 'no_client_api');
    }
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw upstreamFailed(`${serverName} publishes an invalid client-server URL`, 'no_client_api');
    }
    // A local test federation (servers allowed private addresses) may publish plain http.
    const testServer = this.opts.plainHttpServers?.includes(serverName) === true;
    if (url.protocol === 'http:' && !testServer) {
      throw upstreamFailed(`${serverName} publishes a client-server URL without https`, 'insecure_client_api');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw upstreamFailed(`${serverName} publishes an invalid client-server URL`, 'no_client_api');
    }
    const scheme = url.protocol === 'http:' ? 'http' : 'https';
    return {
      serverName,
      scheme,
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port),
      basePath: withoutTrailingSlashes(url.pathname),
    };
  }
}

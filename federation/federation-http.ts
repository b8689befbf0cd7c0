/**
 * HTTPS requests to other homeservers' federation APIs. Connections go only to the addresses that
 * server discovery resolved and the guard approved (the connect-time lookup is pinned to them, so a
 * second DNS answer cannot redirect us), TLS is verified against the system store plus an optional
 * configured CA, and every request has a timeout and a response size cap.
 */
import { readFileSync } from 'node:fs';
import { isIP, type LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';

import { Agent, request } from 'undici';

import { currentRequestId } from '../core/request-context.ts';
import { ApiError, upstreamFailed, upstreamTimeout } from '../core/errors.ts';
import type { FederationEndpoint } from './server-discovery.ts';

export interface FederationHttpOptions {
  timeoutMs: number;
  caFile?: string | undefined;
  maxResponseBytes?: number;
}

export interface JsonResponse {
  status: number;
  body: unknown;
}

/** A request that failed in transit or stalled: 504 when it timed out, 502 otherwise. */
function transportFailure(serverName: string, err: unknown): ApiError {
  const timedOut = err instanceof Error && /timeout|aborted/i.test(`${err.name} ${err.message}`);
  return timedOut
    ? upstreamTimeout(`The homeserver ${serverName} did not answer in time`, 'homeserver_timeout')
    : upstreamFailed(`The homeserver ${serverName} could not be reached`, 'homeserver_unreachable');
}

export class FederationHttp {
  /**
   * One connection pool per vetted endpoint (host, port and the addresses the guard approved),
   * its DNS lookup pinned to those addresses: no later DNS answer can redirect a connection, and
   * two resolutions of one host name (well-known vs SRV) cannot overwrite each other. Bounded: the
   * least recently used pool is closed past MAX_AGENTS.
   */
  private readonly agents = new Map<string, Agent>();
  private readonly ca: string[] | undefined;
  private readonly maxBytes: number;
  private static readonly MAX_AGENTS = 256;

  constructor(private readonly opts: FederationHttpOptions) {
    this.maxBytes = opts.maxResponseBytes ?? 64 * 1024;
    this.ca = opts.caFile === undefined ? undefined : [...rootCertificates, readFileSync(opts.caFile, 'utf8')];
  }

  private agentFor(endpoint: FederationEndpoint): Agent {
    const key = `${endpoint.host}|${endpoint.port}|${endpoint.addresses.join(',')}`;
    const existing = this.agents.get(key);
    if (existing !== undefined) {
      this.agents.delete(key);
      this.agents.set(key, existing); // most recently used last
      return existing;
    }
    const addresses = endpoint.addresses;
    const lookup: LookupFunction = (_hostname, options, callback) => {
      if (addresses.length === 0) {
        callback(new Error('no vetted address'), '', 4);
        return;
      }
      if (options.all === true) {
        (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(
          null,
          addresses.map((address) => ({ address, family: isIP(address) })),
        );
      } else {
        const [first] = addresses as [string];
        callback(null, first, isIP(first));
      }
    };
    const agent = new Agent({
      connect: { lookup, timeout: this.opts.timeoutMs, ...(this.ca === undefined ? {} : { ca: this.ca }) },
      keepAliveTimeout: 30_000,
      connections: 8,
    });
    this.agents.set(key, agent);
    if (this.agents.size > FederationHttp.MAX_AGENTS) {
      const oldest = this.agents.entries().next();
      if (oldest.done !== true) {
        const [oldestKey, oldestAgent] = oldest.value;
        this.agents.delete(oldestKey);
        void oldestAgent.close();
      }
    }
    return agent;
  }

  getJson(endpoint: FederationEndpoint, path: string): Promise<JsonResponse> {
    return this.requestJson(endpoint, path);
  }

  /** A request to a vetted endpoint (https unless told otherwise), answered as JSON. */
  async requestJson(
    endpoint: FederationEndpoint,
    path: string,
    opts: { method?: 'GET' | 'POST'; body?: unknown; scheme?: 'https' | 'http' } = {},
  ): Promise<JsonResponse> {
    const host = isIP(endpoint.host) === 6 ? `[${endpoint.host}]` : endpoint.host;
    const url = `${opts.scheme ?? 'https'}://${host}:${endpoint.port}${path}`;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, {
        method: opts.method ?? 'GET',
        dispatcher: this.agentFor(endpoint),
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
        headers: {
          accept: 'application/json',
          ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
          // The request this call serves, so it can be followed into the homeserver's log.
          ...(currentRequestId() === undefined ? {} : { 'x-request-id': currentRequestId() }),
        },
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      });
    } catch (err) {
      throw transportFailure(endpoint.serverName, err);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > this.maxBytes) {
          res.body.destroy();
          throw upstreamFailed(
            `The homeserver ${endpoint.serverName} sent an oversized answer`,
            'homeserver_bad_response',
          );
        }
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      if (err instanceof ApiError) throw err;
      // The answer stopped coming (slow server, reset): the same classes as a failed request.
      throw transportFailure(endpoint.serverName, err);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      body = undefined;
    }
    return { status: res.statusCode, body };
  }

  /** /.well-known/matrix/server, following no redirects (a redirect counts as no delegation). */
  async wellKnown(endpoint: FederationEndpoint): Promise<unknown> {
    const res = await this.getJson(endpoint, '/.well-known/matrix/server');
    return res.status === 200 ? res.body : undefined;
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.close()));
    this.agents.clear();
  }
}

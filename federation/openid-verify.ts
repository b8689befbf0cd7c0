/**
 * Verifies a Matrix OpenID token against the homeserver that issued it, over federation:
 * GET /_matrix/federation/v1/openid/userinfo on the server named by `matrix_server_name`. The answer
 * counts only if `sub` is a valid user id *on that server*. Verified tokens are cached until shortly
 * before they expire (keyed by a hash, never the token itself); rejections for a few seconds only.
 */
import { createHash } from 'node:crypto';

import { ApiError, unauthorized, upstreamFailed } from '../core/errors.ts';
import type { JsonResponse } from './federation-http.ts';
import type { FederationEndpoint } from './server-discovery.ts';
import { serverOfUserId } from '../core/matrix-ids.ts';

export interface OpenIdToken {
  access_token: string;
  matrix_server_name: string;
  expires_in?: number | undefined;
}

export interface OpenIdVerifierDeps {
  resolve(serverName: string): Promise<FederationEndpoint>;
  getJson(endpoint: FederationEndpoint, path: string): Promise<JsonResponse>;
  now?: () => number;
}

export interface OpenIdVerifierOptions {
  /** Upper bound on how long a verification is trusted, whatever expires_in claims. */
  maxCacheMs?: number;
  /** Margin before the token's own expiry at which we stop trusting the cached answer. */
  expiryMarginMs?: number;
  rejectionCacheMs?: number;
}

interface Entry {
  until: number;
  result: Promise<string>;
}

export class OpenIdVerifier {
  private readonly cache = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly maxCacheMs: number;
  private readonly marginMs: number;
  private readonly rejectionMs: number;

  constructor(
    private readonly deps: OpenIdVerifierDeps,
    opts: OpenIdVerifierOptions = {},
  ) {
    this.now = deps.now ?? Date.now;
    // expires_in is the client's claim: trust a verification for a few minutes at most.
    this.maxCacheMs = opts.maxCacheMs ?? 300_000;
    this.marginMs = opts.expiryMarginMs ?? 30_000;
    this.rejectionMs = opts.rejectionCacheMs ?? 5_000;
  }

  /** Resolves to the verified user id, or rejects with an ApiError. */
  verify(token: OpenIdToken): Promise<string> {
    const key = createHash('sha256')
      .update(token.matrix_server_name)
      .update('\0')
      .update(token.access_token)
      .digest('base64');
    const hit = this.cache.get(key);
    const now = this.now();
    if (hit !== undefined && hit.until > now) return hit.result;

    const expiresInMs = Math.max(0, (token.expires_in ?? 0) * 1000);
    const trustFor = Math.min(this.maxCacheMs, expiresInMs - this.marginMs);
    const result = this.ask(token);
    // Shared by concurrent requests while in flight; kept afterwards only on success.
    const entry: Entry = { until: now + Math.max(trustFor, 1_000), result };
    this.cache.set(key, entry);
    result.then(
      () => {
        if (trustFor <= 0) this.cache.delete(key);
      },
      (err: unknown) => {
        const definite = err instanceof ApiError && err.status === 401;
        if (definite) entry.until = this.now() + this.rejectionMs;
        else this.cache.delete(key);
      },
    );
    if (this.cache.size > 50_000) this.evict();
    return result;
  }

  /** Drops expired entries, then the oldest ones, so the cache stays bounded. */
  private evict(): void {
    const now = this.now();
    for (const [k, e] of this.cache) if (e.until <= now) this.cache.delete(k);
    for (const k of this.cache.keys()) {
      if (this.cache.size <= 40_000) break;
      this.cache.delete(k);
    }
  }

  private async ask(token: OpenIdToken): Promise<string> {
    const endpoint = await this.deps.resolve(token.matrix_server_name);
    const res = await this.deps.getJson(
      endpoint,
      `/_matrix/federation/v1/openid/userinfo?access_token=${encodeURIComponent(token.access_token)}`,
    );
    if (res.status === 401 || res.status === 403) {
      throw unauthorized('The OpenID token was not accepted by its homeserver', 'openid_rejected');
    }
    if (res.status !== 200) {
      throw upstreamFailed(
        `The homeserver ${token.matrix_server_name} failed to verify the OpenID token`,
        'homeserver_error',
      );
    }
    const sub =
      typeof res.body === 'object' && res.body !== null ? (res.body as Record<string, unknown>)['sub'] : undefined;
    if (typeof sub !== 'string' || serverOfUserId(sub) !== token.matrix_server_name) {
      // A server vouching for a user of another server is not to be believed.
      throw unauthorized(
        'The OpenID token does not belong to a user of the server that was asked',
        'openid_wrong_server',
      );
    }
    return sub;
  }
}

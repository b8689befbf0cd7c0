/**
 * The guest gateway: a guest's page talks to the client-server API through us, with the session
 * secret it was given, never with a Matrix access token. We forward only what a guest may do
 * (core/guest-links.ts `gatewayDecision`: the call of its one room, its device's keys) with the
 * account's token, which never leaves the service; everything else is refused. When the guest is
 * ended, the session stops working at once (401, as a logged-out client expects).
 *
 * ANY /_causerie/v1/guest/client/_matrix/client/…   (Authorization: Bearer <session>)
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { fetch } from 'undici';

import { ApiError, forbidden, rateLimited, unavailable } from '../core/errors.ts';
import { gatewayDecision, secretHash, type Guest } from '../core/guest-links.ts';
import type { Logger } from '../core/log.ts';
import { rateLimitKey, type RateLimiter } from './rate-limit.ts';

export const GUEST_GATEWAY_PREFIX = '/_causerie/v1/guest/client';

/** Key uploads and encrypted to-device messages to many devices are larger than token requests. */
const MAX_GATEWAY_BODY = 256 * 1024;
/** A guest's sync answer or avatar: bounded, so one session cannot make us buffer without end. */
const MAX_GATEWAY_ANSWER = 8 * 1024 * 1024;

/** Query parameters never forwarded: appservice masquerading and tokens in the URL. */
const DROPPED_QUERY = new Set(['user_id', 'access_token', 'org.matrix.msc3202.device_id', 'device_id']);

export interface GuestGatewayDeps {
  homeserverUrl: string;
  sessions: { session(sessionHash: string): Promise<Guest | undefined> };
  log: Logger;
}

function gatewayCors(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-allow-methods', 'GET, POST, PUT, OPTIONS');
  res.setHeader('access-control-allow-headers', 'Authorization, Content-Type, Accept');
  res.setHeader('access-control-max-age', '86400');
  if (req.method === 'OPTIONS') {
    res.status(204).end();
    return;
  }
  next();
}

const matrixError = (res: Response, status: number, errcode: string, error: string): void => {
  res.status(status).json({ errcode, error });
};

export function guestGatewayRoutes(deps: GuestGatewayDeps, limiter: Pick<RateLimiter, 'take'>): Router {
  const router = express.Router();
  const base = deps.homeserverUrl.replace(/\/+$/, '');
  const body = express.raw({ type: () => true, limit: MAX_GATEWAY_BODY, inflate: false });
  router.use(GUEST_GATEWAY_PREFIX, gatewayCors);
  router.use(`${GUEST_GATEWAY_PREFIX}/_matrix/client/`, body, async (req, res) => {
    const auth = req.headers.authorization ?? '';
    const secret = /^Bearer ([A-Za-z0-9_-]{20,128})$/.exec(auth)?.[1];
    const guest = secret === undefined ? undefined : await deps.sessions.session(secretHash(secret));
    if (guest === undefined) {
      // Guessing sessions costs a rate-limited request each.
      const wait = limiter.take(rateLimitKey(req.ip ?? req.socket.remoteAddress ?? 'unknown'));
      if (wait > 0) throw rateLimited(wait);
      matrixError(res, 401, 'M_UNKNOWN_TOKEN', 'This guest session has ended');
      return;
    }
    const url = new URL(req.originalUrl, 'http://gateway');
    const path = url.pathname.slice(`${GUEST_GATEWAY_PREFIX}/_matrix/client/`.length);
    const decision = gatewayDecision({ method: req.method, path }, guest);
    if (!decision.allow) {
      deps.log.info('guest_request_refused', {
        user_id: guest.userId,
        reason: decision.reason,
        method: req.method,
        path: path.slice(0, 200),
      });
      throw forbidden('Guests may only take part in the call of the room they were invited to', decision.reason);
    }
    for (const key of [...url.searchParams.keys()]) if (DROPPED_QUERY.has(key)) url.searchParams.delete(key);
    const raw: unknown = req.body;
    const payload = Buffer.isBuffer(raw) && raw.length > 0 ? raw : undefined;
    let answer;
    try {
      answer = await fetch(`${base}/_matrix/client/${path}${url.search}`, {
        method: req.method,
        headers: {
          authorization: `Bearer ${guest.accessToken}`,
          ...(payload === undefined ? {} : { 'content-type': req.headers['content-type'] ?? 'application/json' }),
        },
        ...(payload === undefined || req.method === 'GET' ? {} : { body: payload }),
        signal: AbortSignal.timeout(decision.timeoutMs),
      });
    } catch (err) {
      deps.log.warn('guest_gateway_unreachable', { user_id: guest.userId, error: (err as Error).message });
      throw unavailable('local_homeserver_unreachable');
    }
    const length = Number(answer.headers.get('content-length') ?? '0');
    if (length > MAX_GATEWAY_ANSWER) {
      await answer.body?.cancel();
      throw new ApiError('too_large', 'The answer is too large', { reason: 'too_large' });
    }
    const bytes = Buffer.from(await answer.arrayBuffer());
    if (bytes.length > MAX_GATEWAY_ANSWER)
      throw new ApiError('too_large', 'The answer is too large', { reason: 'too_large' });
    res.status(answer.status);
    // Media a member uploaded comes back through our origin: never as a page that could run there.
    res.setHeader('content-security-policy', "sandbox; default-src 'none'");
    res.setHeader('x-content-type-options', 'nosniff');
    const type = answer.headers.get('content-type');
    if (type !== null) res.setHeader('content-type', type);
    res.end(bytes);
  });
  return router;
}

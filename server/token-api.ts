/**
 * HTTP routes of the token service, as lk-jwt-service serves them: POST /sfu/get and /get_token
 * answering {url, jwt}, CORS for browser clients on any origin (Element Call preflights every POST),
 * Matrix-style errors (thrown, written by the one error middleware of server/http.ts). /delegate_delayed_leave answers 404 until delegated leave is served, because
 * Element Call switches to it as soon as that path exists.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';

import { ApiError, notJson, rateLimited, unrecognized } from '../core/errors.ts';
import { rateLimitKey, type RateLimiter } from './rate-limit.ts';
import { parseTokenRequest } from './token-requests.ts';
import type { TokenService } from './token-service.ts';

export const MAX_BODY_BYTES = 16 * 1024;

/** CORS for browser clients on any origin (the widget may be served from another origin). */
export function cors(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
  res.setHeader(
    'access-control-allow-headers',
    'Accept, Content-Type, Content-Length, Accept-Encoding, Authorization, X-CSRF-Token',
  );
  res.setHeader('access-control-max-age', '86400');
  next();
}

/** Reads the raw body (bounded) and parses JSON ourselves, for exact errors on bad input. */
export const rawBody = express.raw({ type: () => true, limit: MAX_BODY_BYTES, inflate: false });

export function parseJsonBody(req: Request): unknown {
  const buf: unknown = req.body;
  if (!Buffer.isBuffer(buf) || buf.length === 0) throw notJson();
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw notJson();
  }
}

/** Refuses (429) an address over its rate: token requests and moderation share the limiter. */
export function limitByAddress(
  limiter: Pick<RateLimiter, 'take'>,
): (req: Request, res: Response, next: NextFunction) => void {
  return (req, _res, next) => {
    const wait = limiter.take(rateLimitKey(req.ip ?? req.socket.remoteAddress ?? 'unknown'));
    if (wait > 0) throw rateLimited(wait);
    next();
  };
}

export function tokenRoutes(service: Pick<TokenService, 'issue'>, limiter: Pick<RateLimiter, 'take'>): Router {
  const router = express.Router();
  const paths = ['/sfu/get', '/get_token'];
  const delegated = ['/delegate_delayed_leave', '/sfu/get/delegate_delayed_leave'];
  router.use([...paths, ...delegated], cors);
  router.options([...paths, ...delegated], (_req, res) => {
    res.status(200).end();
  });
  router.post(delegated, () => {
    throw unrecognized('Delegated delayed leave is not served here');
  });

  for (const path of paths) {
    const endpoint = path === '/sfu/get' ? 'sfu_get' : 'get_token';
    router.post(path, limitByAddress(limiter), rawBody, async (req, res) => {
      const request = parseTokenRequest(endpoint, parseJsonBody(req));
      res.json(await service.issue(request));
    });
    router.all(path, (_req, res) => {
      res.setHeader('allow', 'POST, OPTIONS');
      throw new ApiError('method_not_allowed', 'Method not allowed', { reason: 'method_not_allowed' });
    });
  }
  return router;
}

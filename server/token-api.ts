/**
 * HTTP routes of the token service, as lk-jwt-service serves them: POST /sfu/get and /get_token
 * answering {url, jwt}, CORS for browser clients on any origin (Element Call preflights every POST),
 * Matrix-style errors. /delegate_delayed_leave answers 404 until delegated leave is served, because
 * Element Call switches to it as soon as that path exists.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';

import { ApiError } from '../core/errors.ts';
import { rateLimitKey, type RateLimiter } from './rate-limit.ts';
import { parseTokenRequest } from './token-requests.ts';
import type { TokenService } from './token-service.ts';

export const MAX_BODY_BYTES = 16 * 1024;

export function sendError(res: Response, err: ApiError): void {
  if (err.retryAfterMs !== undefined) res.setHeader('retry-after', String(Math.ceil(err.retryAfterMs / 1000)));
  res.status(err.status).json(err.body());
}

function cors(_req: Request, res: Response, next: NextFunction): void {
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
const rawBody = express.raw({ type: () => true, limit: MAX_BODY_BYTES, inflate: false });

function parseJson(req: Request): unknown {
  const buf: unknown = req.body;
  if (!Buffer.isBuffer(buf) || buf.length === 0) throw new ApiError('M_NOT_JSON', 'The request body is not JSON');
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw new ApiError('M_NOT_JSON', 'The request body is not JSON');
  }
}

export function tokenRoutes(service: Pick<TokenService, 'issue'>, limiter: Pick<RateLimiter, 'take'>): Router {
  const router = express.Router();
  const paths = ['/sfu/get', '/get_token'];
  router.use([...paths, '/delegate_delayed_leave', '/sfu/get/delegate_delayed_leave'], cors);
  router.options([...paths, '/delegate_delayed_leave', '/sfu/get/delegate_delayed_leave'], (_req, res) => {
    res.status(200).end();
  });
  router.post(['/delegate_delayed_leave', '/sfu/get/delegate_delayed_leave'], (_req, res) => {
    sendError(res, new ApiError('M_UNRECOGNIZED', 'Delegated delayed leave is not served here'));
  });

  for (const path of paths) {
    const endpoint = path === '/sfu/get' ? 'sfu_get' : 'get_token';
    router.post(
      path,
      (req, res, next) => {
        const wait = limiter.take(rateLimitKey(req.ip ?? req.socket.remoteAddress ?? 'unknown'));
        if (wait > 0) {
          sendError(
            res,
            new ApiError('M_LIMIT_EXCEEDED', 'Too many requests', { retryAfterMs: wait, reason: 'rate_limited' }),
          );
          return;
        }
        next();
      },
      rawBody,
      async (req, res) => {
        try {
          const request = parseTokenRequest(endpoint, parseJson(req));
          res.json(await service.issue(request));
        } catch (err) {
          sendError(res, err instanceof ApiError ? err : new ApiError('M_UNKNOWN', 'Internal error'));
        }
      },
    );
    router.all(path, (_req, res) => {
      res.setHeader('allow', 'POST, OPTIONS');
      sendError(res, new ApiError('M_UNRECOGNIZED', 'Method not allowed', { status: 405 }));
    });
  }
  return router;
}

/** Turns body-parser failures (oversized, unreadable) into Matrix errors. */
export function bodyErrors(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  const e = err as { type?: string; status?: number } | undefined;
  if (e?.type === 'entity.too.large') {
    sendError(res, new ApiError('M_TOO_LARGE', `The request body is larger than ${MAX_BODY_BYTES} bytes`));
    return;
  }
  if (e?.status !== undefined && e.status >= 400 && e.status < 500) {
    sendError(res, new ApiError('M_NOT_JSON', 'The request body could not be read'));
    return;
  }
  next(err);
}

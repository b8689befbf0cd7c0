/**
 * The HTTP surface of the service: health, the token API, the appservice API. Errors are always
 * Matrix-style JSON.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import express, {
  type ErrorRequestHandler,
  type Express,
  type NextFunction,
  type Request,
  type Response,
  type Router,
} from 'express';

import type { Database } from '../schema/database.ts';
import { requestIdFrom, withRequestId } from '../core/request-context.ts';
import { ApiError, internal, notJson, tooLarge, unavailable, unrecognized } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';

export interface HttpDeps {
  db: Pick<Database, 'query'>;
  log?: Logger;
  routers: Router[];
  /** Express "trust proxy": whose X-Forwarded-For gives the client address. */
  trustProxy?: boolean | number | string;
  /** What /readyz asks (besides the database): each answers whether its server answers. */
  readiness?: Record<string, () => Promise<boolean>>;
}

/** A readiness probe asked at most once a second, whoever asks and however often. */
function throttled(probe: () => Promise<boolean>): () => Promise<boolean> {
  let last: { at: number; ok: Promise<boolean> } | undefined;
  return () => {
    const now = Date.now();
    if (last === undefined || now - last.at > 1_000) {
      last = {
        at: now,
        ok: Promise.race([
          probe().catch(() => false),
          new Promise<boolean>((resolve) => {
            setTimeout(() => {
              resolve(false);
            }, READY_TIMEOUT_MS);
          }),
        ]),
      };
    }
    return last.ok;
  };
}

/** A server that takes longer than this to answer a readiness probe is not ready. */
const READY_TIMEOUT_MS = 2_000;

/**
 * The HTTP server for an app, with deadlines: a client that sends its headers or body slowly, or
 * keeps an idle connection, cannot hold a socket for long (deadlines are checked every second, not
 * every 30 s as Node does by default).
 */
export function createHttpServer(app: Express): Server {
  return createServer(
    {
      headersTimeout: 10_000,
      requestTimeout: 60_000,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: 1_000,
      maxHeaderSize: 16 * 1024,
    },
    app,
  );
}

export function createHttpApp(deps: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy ?? false);

  // Every request gets an id (the proxy's when it is a plain token), echoed in the answer and carried
  // through everything done for it: its log lines and outgoing federation calls name it.
  app.use((req, res, next) => {
    const id = requestIdFrom(req.get('x-request-id'));
    res.setHeader('x-request-id', id);
    withRequestId(id, next);
  });

  // No route takes a compressed body: a few kilobytes of gzip can inflate to gigabytes.
  app.use((req, _res, next) => {
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity' && encoding !== '')
      throw new ApiError('unsupported_encoding', 'Compressed request bodies are not accepted');
    next();
  });

  // /healthz: the process answers (liveness). /readyz: it can do its work — the database, the
  // homeserver and LiveKit answer — each probed at most once a second, so health checks cannot
  // exhaust a connection pool or load a server.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const probes = Object.entries({
    database: () => deps.db.query('SELECT 1').then(() => true),
    ...deps.readiness,
  }).map(([name, probe]) => [name, throttled(probe)] as const);
  app.get('/readyz', async (_req, res) => {
    const checks = Object.fromEntries(await Promise.all(probes.map(async ([name, ok]) => [name, await ok()] as const)));
    const down = Object.entries(checks)
      .filter(([, ok]) => !ok)
      .map(([name]) => name);
    if (down.length === 0) {
      res.json({ status: 'ok', checks });
      return;
    }
    res.status(503).json({ ...unavailable('not_ready', `Not ready: ${down.join(', ')} not answering`).body(), checks });
  });

  for (const router of deps.routers) app.use(router);

  app.use(() => {
    throw unrecognized();
  });
  app.use(errorResponses(deps.log));
  return app;
}

/**
 * The one place an error becomes an answer: an ApiError with its errcode and status (from the one
 * map in core/errors.ts), a body-parser failure as the ApiError it means, anything else as a bland
 * 500 (logged, never a stack trace to the client).
 */
export function errorResponses(log?: Logger): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const e = toApiError(err);
    if (e.kind === 'internal') log?.error('request_failed', { path: req.path, error: (err as Error).message });
    if (e.retryAfterMs !== undefined) res.setHeader('retry-after', String(Math.ceil(e.retryAfterMs / 1000)));
    res.status(e.status).json(e.body());
  };
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { type?: string; status?: number; limit?: number } | undefined;
  if (e?.type === 'entity.too.large') return tooLarge(e.limit ?? 0);
  if (e?.type === 'encoding.unsupported')
    return new ApiError('unsupported_encoding', 'Compressed request bodies are not accepted');
  if (e?.status !== undefined && e.status >= 400 && e.status < 500)
    return notJson('The request body could not be read');
  return internal();
}

/** Starts listening; resolves with the address once bound, rejects if binding fails. */
export async function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  server.maxHeadersCount = 100;
  server.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return server.address() as AddressInfo;
}

/** Stops accepting and drops open connections (keep-alive ones included). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}

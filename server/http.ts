/**
 * The HTTP surface of the service: health, the token API, the appservice API. Errors are always
 * Matrix-style JSON.
 */
import { createServer, type Server } from 'node:http';

import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';

import type { Database } from '../schema/database.ts';
import { bodyErrors } from './token-api.ts';

export interface HttpDeps {
  db: Pick<Database, 'query'>;
  routers: Router[];
  /** Express "trust proxy": whose X-Forwarded-For gives the client address. */
  trustProxy?: boolean | number | string;
}

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

  // No route takes a compressed body: a few kilobytes of gzip can inflate to gigabytes.
  app.use((req, res, next) => {
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding === 'identity' || encoding === '') {
      next();
      return;
    }
    res.status(415).json({ errcode: 'M_UNKNOWN', error: 'Compressed request bodies are not accepted' });
  });

  // One database probe a second at most, whoever asks and however often: health checks cannot
  // exhaust the connection pool.
  let probe: { at: number; ok: Promise<boolean> } | undefined;
  const healthy = (): Promise<boolean> => {
    const now = Date.now();
    if (probe === undefined || now - probe.at > 1_000) {
      probe = {
        at: now,
        ok: deps.db.query('SELECT 1').then(
          () => true,
          () => false,
        ),
      };
    }
    return probe.ok;
  };
  app.get('/healthz', async (_req, res) => {
    if (await healthy()) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'unavailable', errcode: 'M_UNKNOWN', error: 'database unavailable' });
  });

  for (const router of deps.routers) app.use(router);

  app.use((_req, res) => {
    res.status(404).json({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  });
  app.use(bodyErrors);
  // Last resort: never a stack trace to the client.
  app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ errcode: 'M_UNKNOWN', error: 'Internal error' });
  });
  return app;
}

/**
 * The HTTP surface of the service. For now: health. The token API, appservice API, LiveKit
 * webhooks and the widget mount here.
 */
import express, { type Express } from 'express';

import type { Database } from '../schema/database.ts';

export interface HttpDeps {
  db: Pick<Database, 'query'>;
}

export function createHttpApp(deps: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', async (_req, res) => {
    try {
      await deps.db.query('SELECT 1');
      res.json({ status: 'ok' });
    } catch {
      res.status(503).json({ status: 'unavailable', errcode: 'M_UNKNOWN', error: 'database unavailable' });
    }
  });

  app.use((_req, res) => {
    res.status(404).json({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  });
  return app;
}

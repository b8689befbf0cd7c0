/**
 * The appservice API the homeserver calls: PUT /_matrix/app/v1/transactions/{txnId} (only with our
 * hs_token; a transaction id already processed is acknowledged, not redone; a transaction is
 * acknowledged only once every event's effects are done, so after a crash the homeserver's retry
 * redoes it), POST /_matrix/app/v1/ping, and user queries.
 */
import { timingSafeEqual } from 'node:crypto';

import express, { type Request, type Response, type Router } from 'express';

import type { Database } from '../schema/database.ts';
import type { Logger } from '../server/log.ts';
import type { EventHandler } from './event-handler.ts';
import type { MatrixStateEvent } from './homeserver-client.ts';

export interface TransactionDeps {
  hsToken: string;
  db: Pick<Database, 'query'>;
  events: Pick<EventHandler, 'handle'>;
  log: Logger;
  /** Counts transactions by outcome and events by type (metrics). */
  count?: (outcome: 'processed' | 'replayed' | 'failed' | 'refused', eventTypes: readonly string[]) => void;
}

function presentedToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ') === true) return header.slice(7);
  const q = req.query['access_token'];
  return typeof q === 'string' ? q : undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function isEvent(v: unknown): v is MatrixStateEvent {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e['type'] === 'string' &&
    typeof e['sender'] === 'string' &&
    typeof e['content'] === 'object' &&
    e['content'] !== null
  );
}

export function transactionRoutes(deps: TransactionDeps): Router {
  const router = express.Router();
  const json = express.json({ limit: '50mb' });

  const authorised = (req: Request, res: Response): boolean => {
    const token = presentedToken(req);
    if (token === undefined) {
      deps.count?.('refused', []);
      res.status(401).json({ errcode: 'M_UNAUTHORIZED', error: 'Missing hs_token' });
      return false;
    }
    if (!sameSecret(token, deps.hsToken)) {
      deps.count?.('refused', []);
      res.status(403).json({ errcode: 'M_FORBIDDEN', error: 'Bad hs_token' });
      return false;
    }
    return true;
  };

  router.put('/_matrix/app/v1/transactions/:txnId', json, async (req, res) => {
    if (!authorised(req, res)) return;
    const txnId = req.params.txnId;
    const arrivedAt = Date.now();
    try {
      const seen = await deps.db.query('SELECT 1 FROM appservice_transactions WHERE txn_id = $1', [txnId]);
      if (seen.length > 0) {
        deps.count?.('replayed', []);
        res.json({});
        return;
      }
      const body: unknown = (req.body as { events?: unknown } | undefined)?.events;
      const events = Array.isArray(body) ? (body as unknown[]).filter(isEvent) : [];
      // In order: a later event may depend on an earlier one (join, then leave).
      for (const ev of events) await deps.events.handle(ev, arrivedAt);
      await deps.db.query('INSERT INTO appservice_transactions (txn_id) VALUES ($1) ON CONFLICT DO NOTHING', [txnId]);
      deps.count?.(
        'processed',
        events.map((e) => e.type),
      );
      res.json({});
    } catch (err) {
      deps.count?.('failed', []);
      deps.log.error('transaction_failed', { txn_id: txnId, error: (err as Error).message });
      // Not acknowledged: the homeserver retries the same transaction.
      res.status(500).json({ errcode: 'M_UNKNOWN', error: 'Transaction failed' });
    }
  });

  router.post('/_matrix/app/v1/ping', json, (req, res) => {
    if (!authorised(req, res)) return;
    res.json({});
  });

  // No users are provisioned in our namespace on demand.
  router.get(['/_matrix/app/v1/users/:userId', '/_matrix/app/v1/rooms/:alias'], (req, res) => {
    if (!authorised(req, res)) return;
    res.status(404).json({ errcode: 'M_NOT_FOUND', error: 'Not provisioned' });
  });
  return router;
}

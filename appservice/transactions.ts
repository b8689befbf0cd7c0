/**
 * The appservice API the homeserver calls: PUT /_matrix/app/v1/transactions/{txnId} (only with our
 * hs_token; a transaction id already processed is acknowledged, not redone), POST /_matrix/app/v1/ping,
 * and user queries. Events feed the room-state view; an invite of the bot makes it join.
 */
import { timingSafeEqual } from 'node:crypto';

import express, { type Request, type Response, type Router } from 'express';

import type { Database } from '../schema/database.ts';
import type { Logger } from '../server/log.ts';
import type { HomeserverClient, MatrixStateEvent } from './homeserver-client.ts';
import type { RoomStates } from './room-state.ts';

export interface TransactionDeps {
  hsToken: string;
  botUserId: string;
  db: Pick<Database, 'query'>;
  rooms: Pick<RoomStates, 'applyEvent'>;
  homeserver: Pick<HomeserverClient, 'joinRoom'>;
  log: Logger;
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

const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

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
      res.status(401).json({ errcode: 'M_UNAUTHORIZED', error: 'Missing hs_token' });
      return false;
    }
    if (!sameSecret(token, deps.hsToken)) {
      res.status(403).json({ errcode: 'M_FORBIDDEN', error: 'Bad hs_token' });
      return false;
    }
    return true;
  };

  const handleEvent = async (ev: MatrixStateEvent): Promise<void> => {
    deps.rooms.applyEvent(ev);
    if (
      ev.type === 'm.room.member' &&
      ev.state_key === deps.botUserId &&
      ev.content['membership'] === 'invite' &&
      ev.room_id !== undefined
    ) {
      try {
        await deps.homeserver.joinRoom(ev.room_id, [serverOf(ev.sender)]);
        deps.log.info('bot_joined', { room_id: ev.room_id, invited_by: ev.sender });
      } catch (err) {
        deps.log.warn('bot_join_failed', { room_id: ev.room_id, error: (err as Error).message });
      }
    }
  };

  router.put('/_matrix/app/v1/transactions/:txnId', json, async (req, res) => {
    if (!authorised(req, res)) return;
    const txnId = req.params.txnId;
    try {
      const seen = await deps.db.query('SELECT 1 FROM appservice_transactions WHERE txn_id = $1', [txnId]);
      if (seen.length > 0) {
        res.json({});
        return;
      }
      const events: unknown = (req.body as { events?: unknown } | undefined)?.events;
      if (Array.isArray(events)) {
        for (const ev of events) if (isEvent(ev)) await handleEvent(ev);
      }
      await deps.db.query('INSERT INTO appservice_transactions (txn_id) VALUES ($1) ON CONFLICT DO NOTHING', [txnId]);
      res.json({});
    } catch (err) {
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

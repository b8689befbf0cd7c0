/**
 * The appservice API the homeserver calls: PUT /_matrix/app/v1/transactions/{txnId}, POST
 * /_matrix/app/v1/ping, and user/room queries.
 *
 * Nothing is read before it is authenticated: the hs_token (header, or the deprecated query
 * parameter; both must agree when both are given) is checked in constant time before a byte of the
 * body is read, compressed bodies are refused, and the body is bounded.
 *
 * The transaction queue never wedges on content: every event is decoded at the edge and then
 * applied, or skipped with a log line and a metric — a member chooses an event's content, and a
 * homeserver re-sends a refused transaction forever while holding every later one (bans included).
 * Only a transient failure of ours (database unreachable, our homeserver or LiveKit failing) holds
 * the transaction back, so the homeserver re-sends it; one event failing that way again and again is
 * skipped after a few attempts, except while the database itself is down (nothing can be done
 * without it). While a transaction is held, the room view is marked as possibly behind, and grants
 * confirm membership with the homeserver first; once the failure clears, the homeserver is asked to
 * re-send at once rather than after its backoff.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import express, { type Request, type Router } from 'express';
import { z } from 'zod';

import { isTransientDatabaseError, type Database } from '../schema/database.ts';
import {
  ApiError,
  badJson,
  forbidden,
  invalidParam,
  notJson,
  tooLarge,
  unauthorized,
  unavailable,
} from '../core/errors.ts';
import { LivekitUnavailableError } from '../livekit/errors.ts';
import type { Logger } from '../core/log.ts';
import type { EventHandler } from './event-handler.ts';
import { HomeserverError } from './homeserver-client.ts';
import { decodeEvent } from '../core/matrix-events.ts';
import type { StoredChange } from './room-store.ts';

/** Synapse sends at most 100 PDUs + 100 EDUs + to-device messages of ≤ 64 KiB each. */
export const MAX_TRANSACTION_BYTES = 32 * 1024 * 1024;
/** Bodies of the other appservice routes are tiny. */
const MAX_SMALL_BODY_BYTES = 64 * 1024;
/** Attempts of one event failing transiently (not the database) before it is skipped. */
export const MAX_TRANSIENT_ATTEMPTS = 5;

export type TransactionOutcome = 'processed' | 'replayed' | 'failed' | 'refused';

export interface TransactionDeps {
  hsToken: string;
  db: Pick<Database, 'query'>;
  events: Pick<EventHandler, 'handle'>;
  /** Stores the room state changes the transaction's events collected. */
  store?: (pending: StoredChange[]) => Promise<void>;
  log: Logger;
  /** Told when transactions are held back (why) and when they flow again (undefined). */
  onHeld?: (reason: string | undefined) => void;
  /** Counts transactions by outcome and events by type (metrics). */
  count?: (outcome: TransactionOutcome, eventTypes: readonly string[]) => void;
  /** Counts events skipped, by reason (metrics). */
  skipped?: (reason: string) => void;
  /** Asks the homeserver to re-send held transactions now (appservice ping). */
  retryNow?: () => Promise<void>;
  /** Whether the failure that held transactions is over (e.g. the database answers again). */
  recovered?: () => Promise<boolean>;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Constant-time equality that leaks neither content nor length. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

type Presented = { ok: true; token: string } | { ok: false; status: 401 | 403; error: string };

function presentedToken(req: Request): Presented {
  const header = req.headers.authorization;
  const fromHeader = header?.startsWith('Bearer ') === true ? header.slice(7) : undefined;
  const q = req.query['access_token'];
  const fromQuery = typeof q === 'string' ? q : undefined;
  if (Array.isArray(q)) return { ok: false, status: 403, error: 'access_token given more than once' };
  if (fromHeader !== undefined && fromQuery !== undefined && !sameSecret(fromHeader, fromQuery))
    return { ok: false, status: 403, error: 'Header and query tokens disagree' };
  const token = fromHeader ?? fromQuery;
  if (token === undefined) return { ok: false, status: 401, error: 'Missing hs_token' };
  return { ok: true, token };
}

/**
 * Reads a request body as JSON, refusing compressed bodies and stopping at `limit` bytes (at once
 * when Content-Length says more). Called only after authentication.
 */
async function readJson(req: Request, limit: number): Promise<unknown> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== '')
    throw new ApiError('unsupported_encoding', 'Compressed request bodies are not accepted');
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.destroy();
      throw tooLarge(limit);
    }
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw notJson();
  }
}

const transactionSchema = z.looseObject({
  events: z.array(z.unknown()).max(10_000).optional(),
});

const txnIdSchema = z.string().min(1).max(255);

/** Transient failures of ours: what a later attempt may get past. */
function transient(err: unknown): boolean {
  return (
    isTransientDatabaseError(err) ||
    (err instanceof HomeserverError && err.transient) ||
    err instanceof LivekitUnavailableError
  );
}

const DATABASE_UNAVAILABLE = 'database_unavailable';

/** Event types counted by name in metrics; any other (members invent types) counts as `other`. */
const COUNTED_TYPES = new Set([
  'm.room.member',
  'm.room.message',
  'm.room.power_levels',
  'm.room.create',
  'org.matrix.msc3401.call.member',
  'org.matrix.msc4143.rtc.member',
  'im.vector.modular.widgets',
]);

/** Why a failed event held the transaction. */
class Held extends Error {
  constructor(readonly reason: 'database_unavailable' | 'transient_failure') {
    super(reason);
  }
}

export function transactionRoutes(deps: TransactionDeps): Router {
  const router = express.Router();
  /** Transient failures per event id, to skip an event that keeps failing (bounded). */
  const attempts = new Map<string, number>();
  let recovering = false;

  /** Throws unless the request carries our hs_token (before anything of it is read). */
  const authorise = (req: Request): void => {
    const presented = presentedToken(req);
    if (!presented.ok) {
      deps.count?.('refused', []);
      throw presented.status === 401
        ? unauthorized(presented.error, 'missing_token')
        : forbidden(presented.error, 'bad_token');
    }
    if (!sameSecret(presented.token, deps.hsToken)) {
      deps.count?.('refused', []);
      throw forbidden('Bad hs_token', 'bad_token');
    }
  };

  const skip = (reason: string, fields: Record<string, string | undefined>): void => {
    deps.skipped?.(reason);
    deps.log.warn('event_skipped', { reason, ...fields });
  };

  /** Until the failure clears, checks now and then; then asks the homeserver to re-send at once. */
  const recover = (): void => {
    if (recovering || deps.recovered === undefined) return;
    recovering = true;
    void (async () => {
      for (let delay = 500; ; delay = Math.min(delay * 2, 10_000)) {
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
        const ok = await deps.recovered?.().catch(() => false);
        if (ok === true) break;
      }
      recovering = false;
      await deps.retryNow?.().catch((err: unknown) => {
        deps.log.warn('transaction_retry_request_failed', { error: (err as Error).message });
      });
    })();
  };

  /**
   * Handles one event of a transaction. Returns its type when applied, null when skipped,
   * 'database_unavailable' when its effects are done but could not be stored (the transaction is
   * then held, the other events still applied: a ban later in it must not wait for the database).
   * Throws Held when a transient failure must hold the transaction now.
   */
  async function handleOne(
    raw: unknown,
    index: number,
    txnId: string,
    arrivedAt: number,
    pending: StoredChange[],
  ): Promise<string | null> {
    const decoded = decodeEvent(raw);
    if (!decoded.ok) {
      skip(decoded.reason, { txn_id: txnId });
      return null;
    }
    const ev = decoded.event;
    const key = ev.event_id ?? `${txnId}#${String(index)}`;
    try {
      await deps.events.handle(ev, arrivedAt, pending);
      attempts.delete(key);
      return ev.type;
    } catch (err) {
      const fields = { txn_id: txnId, room_id: ev.room_id, event_id: ev.event_id, type: ev.type };
      const message = (err as Error).message;
      if (isTransientDatabaseError(err)) return DATABASE_UNAVAILABLE;
      if (transient(err)) {
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.delete(key);
        if (n < MAX_TRANSIENT_ATTEMPTS) {
          attempts.set(key, n);
          if (attempts.size > 1_000) attempts.delete(attempts.keys().next().value ?? '');
          deps.log.warn('event_failed_transiently', { ...fields, attempt: n, error: message });
          throw new Held('transient_failure');
        }
        skip('transient_failure_repeated', { ...fields, error: message });
        return null;
      }
      skip('effect_failed', { ...fields, error: message });
      return null;
    }
  }

  /**
   * Stores a transaction's room state changes together; if the database refuses the batch (not
   * unreachable: refuses), each change is stored on its own and only a refused one is skipped.
   */
  async function storeChanges(pending: StoredChange[], txnId: string): Promise<string | null> {
    if (deps.store === undefined || pending.length === 0) return null;
    const copy = [...pending];
    try {
      await deps.store(pending);
      return null;
    } catch (err) {
      if (isTransientDatabaseError(err)) return DATABASE_UNAVAILABLE;
      for (const change of copy) {
        try {
          await deps.store([change]);
        } catch (one) {
          if (isTransientDatabaseError(one)) return DATABASE_UNAVAILABLE;
          skip('store_failed', { txn_id: txnId, room_id: change.roomId, error: (one as Error).message });
        }
      }
      return null;
    }
  }

  router.put('/_matrix/app/v1/transactions/:txnId', async (req, res) => {
    authorise(req);
    const id = txnIdSchema.safeParse(req.params.txnId);
    if (!id.success) throw invalidParam('Bad transaction id');
    const txnId = id.data;
    const arrivedAt = Date.now();
    const txn = transactionSchema.safeParse(await readJson(req, MAX_TRANSACTION_BYTES));
    if (!txn.success) throw badJson('A transaction is an object with an events array');
    try {
      // Without the database, "already processed?" cannot be answered: process it anyway (every
      // step is idempotent), so bans take effect now; the transaction is held all the same.
      let databaseDown = false;
      const seen = await deps.db
        .query('SELECT 1 FROM appservice_transactions WHERE txn_id = $1', [txnId])
        .catch((err: unknown) => {
          if (!isTransientDatabaseError(err)) throw err;
          databaseDown = true;
          return [];
        });
      if (seen.length > 0) {
        deps.count?.('replayed', []);
        res.json({});
        return;
      }
      const types: string[] = [];
      // In order: a later event may depend on an earlier one (join, then leave). Room state
      // changes are stored together at the end: one round trip, not one per event.
      const pending: StoredChange[] = [];
      const events = txn.data.events ?? [];
      for (let i = 0; i < events.length; i++) {
        const type = await handleOne(events[i], i, txnId, arrivedAt, pending);
        if (type === DATABASE_UNAVAILABLE) databaseDown = true;
        else if (type !== null) types.push(type);
      }
      if (!databaseDown && (await storeChanges(pending, txnId)) === DATABASE_UNAVAILABLE) databaseDown = true;
      if (databaseDown) throw new Held('database_unavailable');
      await deps.db.query('INSERT INTO appservice_transactions (txn_id) VALUES ($1) ON CONFLICT DO NOTHING', [txnId]);
      deps.count?.(
        'processed',
        types.map((t) => (COUNTED_TYPES.has(t) ? t : 'other')),
      );
      deps.onHeld?.(undefined);
      res.json({});
    } catch (err) {
      const reason =
        err instanceof Held ? err.reason : isTransientDatabaseError(err) ? 'database_unavailable' : 'transient_failure';
      deps.count?.('failed', []);
      deps.onHeld?.(reason);
      deps.log.error('transaction_held', { txn_id: txnId, reason, error: (err as Error).message });
      recover();
      // Not acknowledged: the homeserver re-sends the same transaction.
      throw unavailable(reason, 'Temporarily unavailable; re-send later');
    }
  });

  router.post('/_matrix/app/v1/ping', async (req, res) => {
    authorise(req);
    await readJson(req, MAX_SMALL_BODY_BYTES);
    res.json({});
  });

  // No users or rooms are provisioned in our namespace on demand.
  router.get(['/_matrix/app/v1/users/:userId', '/_matrix/app/v1/rooms/:alias'], (req) => {
    authorise(req);
    throw new ApiError('not_found', 'Not provisioned', { reason: 'not_provisioned' });
  });
  return router;
}

/**
 * Guest links: a member allowed to invite creates a time-boxed link (optionally single use, and
 * either through the waiting room or straight in); whoever opens it gives a name and gets a guest
 * account for that room only (appservice/guest-accounts.ts). Links are signed (a tampered or forged
 * one is refused before any lookup), stored hashed, revocable, rate-limited and audited; a link that
 * is expired, revoked, used up or not ours is refused with a reason the page shows, and makes no
 * account.
 *
 * POST /_causerie/v1/guest_links          {room_id, openid_token, expires_in?, single_use?, admit?, lang?}
 * POST /_causerie/v1/guest_links/list     {room_id, openid_token}
 * POST /_causerie/v1/guest_links/revoke   {room_id, openid_token, link_id}
 * POST /_causerie/v1/guest/check          {link}
 * POST /_causerie/v1/guest/redeem         {link, name, lang?}
 */
import { randomBytes } from 'node:crypto';

import express, { type Router } from 'express';
import { z } from 'zod';

import type { AuditSink } from '../core/audit-trail.ts';
import { ApiError, badJson, forbidden, invalidParam, unavailable } from '../core/errors.ts';
import {
  guestDisplayName,
  isGuestUser,
  secretHash,
  type GuestAccountOps,
  type GuestLinkClaims,
  type GuestLinkSigner,
} from '../core/guest-links.ts';
import type { Logger } from '../core/log.ts';
import type { GuestSessionWire } from '../core/token-wire.ts';
import { powerOf, type RoomView } from '../core/room-model.ts';
import type { OpenIdVerifier } from '../federation/openid-verify.ts';
import type { RateLimiter } from './rate-limit.ts';
import { openIdTokenSchema, roomAndUser } from './room-requests.ts';
import { cors, limitByAddress, parseJsonBody, rawBody } from './token-api.ts';

export const GUEST_LINKS_PATH = '/_causerie/v1/guest_links';
export const GUEST_LINKS_LIST_PATH = '/_causerie/v1/guest_links/list';
export const GUEST_LINKS_REVOKE_PATH = '/_causerie/v1/guest_links/revoke';
export const GUEST_CHECK_PATH = '/_causerie/v1/guest/check';
export const GUEST_REDEEM_PATH = '/_causerie/v1/guest/redeem';

const lang = z.enum(['fr', 'en']).default('en');

const createSchema = z.looseObject({
  room_id: z.string().min(1).max(255),
  openid_token: openIdTokenSchema,
  expires_in: z.number().int().positive().optional(),
  single_use: z.boolean().default(false),
  admit: z.boolean().default(false),
  lang,
});
const listSchema = z.looseObject({ room_id: z.string().min(1).max(255), openid_token: openIdTokenSchema });
const revokeSchema = listSchema.extend({ link_id: z.string().min(1).max(64) });
const checkSchema = z.looseObject({ link: z.string().min(1).max(2048) });
const redeemSchema = checkSchema.extend({ name: z.string().max(1024), lang });

export interface GuestLinkPolicy {
  defaultExpirySeconds: number;
  maxExpirySeconds: number;
  maxGuestsPerLink: number;
  /** Where browsers open the widget (the link's base). */
  publicUrl: string;
  /** The namespace prefix and our server name (guests are told apart by their user id). */
  prefix: string;
  domain: string;
  botUserId: string;
}

export interface GuestLinksDeps {
  verifier: Pick<OpenIdVerifier, 'verify'>;
  rooms: { get(roomId: string): Promise<RoomView> };
  /** The bot's client-server requests (the room's join rule). */
  homeserver: { request<T>(method: string, path: string, body?: unknown): Promise<T> };
  db: { query<R extends object>(sql: string, params?: readonly unknown[]): Promise<R[]> };
  signer: GuestLinkSigner;
  accounts: Pick<GuestAccountOps, 'create' | 'endLink'>;
  audit: AuditSink;
  log: Logger;
  now?: () => number;
}

/** Most live links a room may have at once (each is a row and a way in). */
const MAX_LINKS_PER_ROOM = 100;

interface LinkRow {
  link_id: string;
  link_hash: string;
  room_id: string;
  created_by: string;
  expires_at: Date;
  single_use: boolean;
  admit: boolean;
  lang: string;
  guests: number;
  revoked_at: Date | null;
}

export class GuestLinks {
  private readonly now: () => number;

  constructor(
    private readonly deps: GuestLinksDeps,
    private readonly policy: GuestLinkPolicy,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** A new link, for a joined member who may invite (and is no guest). */
  async create(req: z.infer<typeof createSchema>): Promise<{ link_id: string; url: string; expires_at: string }> {
    const { room, user } = await this.inviter(req);
    const seconds = req.expires_in ?? this.policy.defaultExpirySeconds;
    if (seconds < 10 || seconds > this.policy.maxExpirySeconds)
      throw invalidParam(`expires_in must be between 10 and ${this.policy.maxExpirySeconds} seconds`, 'bad_expiry');
    // The bot lets guests in: it needs the invite level, and a waiting room needs knocking allowed.
    if (powerOf(room, this.policy.botUserId) < room.powerLevels.invite)
      throw forbidden('The call bot may not invite people into this room', 'bot_cannot_invite');
    if (!req.admit && !(await this.knockable(room.roomId)))
      throw invalidParam(
        'This room has no waiting room (people cannot ask to join): create a link that lets guests in directly, or allow knocking',
        'no_waiting_room',
      );
    const [{ n } = { n: 0 }] = await this.deps.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM guest_links WHERE room_id = $1 AND revoked_at IS NULL AND expires_at > now()`,
      [room.roomId],
    );
    if (n >= MAX_LINKS_PER_ROOM) throw forbidden('This room has too many open guest links', 'too_many_links');
    const linkId = randomBytes(12).toString('base64url');
    const expiresAt = Math.floor(this.now() / 1000) + seconds;
    const link = this.deps.signer.sign({ linkId, roomId: room.roomId, expiresAt });
    await this.deps.db.query(
      `INSERT INTO guest_links (link_id, link_hash, room_id, created_by, expires_at, single_use, admit, lang)
       VALUES ($1, $2, $3, $4, to_timestamp($5), $6, $7, $8)`,
      [linkId, secretHash(link), room.roomId, user, expiresAt, req.single_use, req.admit, req.lang],
    );
    const expires = new Date(expiresAt * 1000).toISOString();
    this.deps.audit.record({
      action: 'guest_link_created',
      roomId: room.roomId,
      userId: user,
      detail: { link_id: linkId, expires_at: expires, single_use: req.single_use, admit: req.admit },
    });
    this.deps.log.info('guest_link_created', { room_id: room.roomId, user_id: user, link_id: linkId });
    const url = `${this.policy.publicUrl.replace(/\/+$/, '')}/widget/#guest=${link}&lang=${req.lang}`;
    return { link_id: linkId, url, expires_at: expires };
  }

  /** The room's open links, for those who may make them. */
  async list(req: z.infer<typeof listSchema>): Promise<{ links: Record<string, unknown>[] }> {
    const { room } = await this.inviter(req);
    const rows = await this.deps.db.query<LinkRow>(
      `SELECT * FROM guest_links WHERE room_id = $1 AND revoked_at IS NULL AND expires_at > now()
       ORDER BY expires_at`,
      [room.roomId],
    );
    return {
      links: rows.map((r) => ({
        link_id: r.link_id,
        created_by: r.created_by,
        expires_at: new Date(r.expires_at).toISOString(),
        single_use: r.single_use,
        admit: r.admit,
        guests: r.guests,
      })),
    };
  }

  /** Revokes a link of the room: it stops working and its guests are ended at once. */
  async revoke(req: z.infer<typeof revokeSchema>): Promise<{ revoked: boolean; guests_removed: number }> {
    const { room, user } = await this.inviter(req);
    const rows = await this.deps.db.query<{ link_id: string }>(
      `UPDATE guest_links SET revoked_at = now(), revoked_by = $3
       WHERE link_id = $1 AND room_id = $2 AND revoked_at IS NULL RETURNING link_id`,
      [req.link_id, room.roomId, user],
    );
    if (rows.length === 0) throw forbidden('No open guest link of this room has this id', 'no_such_link');
    const removed = await this.deps.accounts.endLink(req.link_id, 'revoked');
    this.deps.audit.record({
      action: 'guest_link_revoked',
      roomId: room.roomId,
      userId: user,
      detail: { link_id: req.link_id, guests_removed: removed },
    });
    this.deps.log.info('guest_link_revoked', { room_id: room.roomId, user_id: user, link_id: req.link_id });
    return { revoked: true, guests_removed: removed };
  }

  /** Whether a link can be used now (the page asks before showing the name form). */
  async check(req: z.infer<typeof checkSchema>): Promise<{ room_id: string; expires_at: string; admit: boolean }> {
    const { row } = await this.usable(req.link);
    return { room_id: row.room_id, expires_at: new Date(row.expires_at).toISOString(), admit: row.admit };
  }

  /**
   * Redeems a link: claims one use of it (atomically: a single-use link makes one account however
   * many pages race), makes the guest account, and returns the session its page will use. A failure
   * after the claim gives the use back.
   */
  async redeem(req: z.infer<typeof redeemSchema>): Promise<GuestSessionWire> {
    const { claims, row } = await this.usable(req.link);
    const displayName = guestDisplayName(req.name, req.lang);
    if (displayName === undefined) throw invalidParam('Please give a name', 'bad_name');
    const claimed = await this.deps.db.query<LinkRow>(
      `UPDATE guest_links SET guests = guests + 1
       WHERE link_id = $1 AND revoked_at IS NULL AND expires_at > now()
         AND (NOT single_use OR guests = 0) AND guests < $2
       RETURNING *`,
      [claims.linkId, this.policy.maxGuestsPerLink],
    );
    if (claimed.length === 0) {
      // Lost a race with a revocation or another use: say which.
      await this.usable(req.link);
      throw this.refused(claims, 'guest_link_used', 'This link has already been used');
    }
    const session = randomBytes(32).toString('base64url');
    try {
      const guest = await this.deps.accounts.create({
        linkId: claims.linkId,
        roomId: row.room_id,
        displayName,
        expiresAt: new Date(row.expires_at),
        sessionHash: secretHash(session),
        invite: row.admit,
      });
      return {
        user_id: guest.userId,
        device_id: guest.deviceId,
        room_id: guest.roomId,
        session,
        expires_at: guest.expiresAt.toISOString(),
        admitted: row.admit,
      };
    } catch (err) {
      await this.deps.db
        .query(`UPDATE guest_links SET guests = guests - 1 WHERE link_id = $1 AND guests > 0`, [claims.linkId])
        .catch(() => undefined);
      this.deps.log.error('guest_create_failed', { link_id: claims.linkId, error: (err as Error).message });
      throw unavailable('local_homeserver_unreachable');
    }
  }

  /** The link's claims and row if it can be used now; a refusal naming why otherwise. */
  private async usable(link: string): Promise<{ claims: GuestLinkClaims; row: LinkRow }> {
    const claims = this.deps.signer.open(link);
    if (claims === undefined) {
      this.deps.audit.record({ action: 'guest_link_refused', detail: { reason: 'guest_link_invalid' } });
      throw forbidden('This link is not a valid guest link', 'guest_link_invalid');
    }
    if (claims.expiresAt * 1000 <= this.now())
      throw this.refused(claims, 'guest_link_expired', 'This link has expired');
    const [row] = await this.deps.db.query<LinkRow>(`SELECT * FROM guest_links WHERE link_id = $1`, [claims.linkId]);
    // Signed by us but unknown or different: a link from another installation sharing our secret, or
    // a database restored from before it. Never usable.
    if (row?.link_hash !== secretHash(link) || row.room_id !== claims.roomId)
      throw this.refused(claims, 'guest_link_invalid', 'This link is not a valid guest link');
    if (row.revoked_at !== null) throw this.refused(claims, 'guest_link_revoked', 'This link has been withdrawn');
    if (new Date(row.expires_at).getTime() <= this.now())
      throw this.refused(claims, 'guest_link_expired', 'This link has expired');
    if ((row.single_use && row.guests > 0) || row.guests >= this.policy.maxGuestsPerLink)
      throw this.refused(claims, 'guest_link_used', 'This link has already been used');
    return { claims, row };
  }

  private refused(claims: GuestLinkClaims, reason: string, message: string): ApiError {
    this.deps.audit.record({
      action: 'guest_link_refused',
      roomId: claims.roomId,
      detail: { link_id: claims.linkId, reason },
    });
    return forbidden(message, reason);
  }

  /** Whether people may knock on the room (its join rule, read from the homeserver as the bot). */
  private async knockable(roomId: string): Promise<boolean> {
    try {
      const rules = await this.deps.homeserver.request<{ join_rule?: unknown }>(
        'GET',
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.join_rules/`,
      );
      return rules.join_rule === 'knock' || rules.join_rule === 'knock_restricted';
    } catch (err) {
      if ((err as { status?: number }).status === 404) return false;
      throw unavailable('local_homeserver_unreachable');
    }
  }

  /** The verified user behind the OpenID token, joined to the room, with the invite level, no guest. */
  private async inviter(req: {
    room_id: string;
    openid_token: { access_token: string; matrix_server_name: string };
  }): Promise<{ room: RoomView; user: string }> {
    const { room, user } = await roomAndUser(this.deps, req, true);
    const refuse = (message: string, reason: string): never => {
      this.deps.audit.record({ action: 'guest_link_refused', roomId: req.room_id, userId: user, detail: { reason } });
      throw forbidden(message, reason);
    };
    if (room.members.get(user)?.membership !== 'join') refuse('You are not a member of this room', 'not_member');
    if (isGuestUser(user, this.policy.prefix, this.policy.domain)) refuse('Guests cannot invite', 'guest');
    if (powerOf(room, user) < room.powerLevels.invite)
      refuse(`Inviting guests needs power level ${room.powerLevels.invite} in the room`, 'cannot_invite');
    return { room, user };
  }
}

export function guestLinkRoutes(
  links: Pick<GuestLinks, 'create' | 'list' | 'revoke' | 'check' | 'redeem'>,
  limiter: Pick<RateLimiter, 'take'>,
  redeemLimiter: Pick<RateLimiter, 'take'>,
): Router {
  const router = express.Router();
  const paths = [GUEST_LINKS_PATH, GUEST_LINKS_LIST_PATH, GUEST_LINKS_REVOKE_PATH, GUEST_CHECK_PATH, GUEST_REDEEM_PATH];
  router.use(paths, cors);
  router.options(paths, (_req, res) => {
    res.status(200).end();
  });
  const post = <T>(
    path: string,
    schema: z.ZodType<T>,
    limit: Pick<RateLimiter, 'take'>,
    handle: (body: T) => Promise<unknown>,
  ): void => {
    router.post(path, limitByAddress(limit), rawBody, async (req, res) => {
      const parsed = schema.safeParse(parseJsonBody(req));
      if (!parsed.success) throw badJson(parsed.error.issues[0]?.message ?? 'bad request');
      res.json(await handle(parsed.data));
    });
  };
  post(GUEST_LINKS_PATH, createSchema, limiter, (b) => links.create(b));
  post(GUEST_LINKS_LIST_PATH, listSchema, limiter, (b) => links.list(b));
  post(GUEST_LINKS_REVOKE_PATH, revokeSchema, limiter, (b) => links.revoke(b));
  // Opening links makes accounts: a stricter rate per address.
  post(GUEST_CHECK_PATH, checkSchema, redeemLimiter, (b) => links.check(b));
  post(GUEST_REDEEM_PATH, redeemSchema, redeemLimiter, (b) => links.redeem(b));
  router.all(paths, (_req, res) => {
    res.setHeader('allow', 'POST, OPTIONS');
    throw new ApiError('method_not_allowed', 'Method not allowed', { reason: 'method_not_allowed' });
  });
  return router;
}

/**
 * Guest accounts: made in the appservice's exclusive user namespace when someone opens a guest link,
 * ended when the link expires or is revoked. Ending takes the guest out of LiveKit and out of the room
 * at once (the guest's session stops working first), then deactivates the account on the homeserver;
 * what the homeserver could not do yet is retried until done, across restarts (the database says
 * which guests are not deactivated yet).
 */
import { randomBytes } from 'node:crypto';

import type { RoomServiceClient } from 'livekit-server-sdk';

import type { AuditSink } from '../core/audit-trail.ts';
import {
  guestLocalpart,
  type Guest,
  type GuestAccountOps,
  type GuestEndReason,
  type NewGuest,
  type TokenSealer,
} from '../core/guest-links.ts';
import { livekitRoomAlias } from '../core/livekit-names.ts';
import type { Logger } from '../core/log.ts';
import type { LivekitIdentities } from '../livekit/identities.ts';
import type { Queryable } from '../schema/database.ts';
import type { HomeserverClient } from './homeserver-client.ts';

interface GuestRow {
  user_id: string;
  link_id: string;
  room_id: string;
  device_id: string;
  sealed_token: string;
  display_name: string;
  expires_at: Date;
  ended_at: Date | null;
  deactivated_at: Date | null;
}

export interface GuestAccountsDeps {
  db: Queryable;
  homeserver: Pick<HomeserverClient, 'request'>;
  livekit: Pick<RoomServiceClient, 'removeParticipant'>;
  identities: Pick<LivekitIdentities, 'identitiesOf'>;
  sealer: TokenSealer;
  audit: AuditSink;
  log: Logger;
  /** The namespace prefix (`appservice.user_prefix`) and our server name. */
  prefix: string;
  domain: string;
  now?: () => number;
}

const enc = encodeURIComponent;
/** Longest single wait of a timer (setTimeout's limit is 2^31-1 ms); a longer expiry re-arms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const RETRY_MS = [1_000, 5_000, 15_000, 60_000];

export class GuestAccounts implements GuestAccountOps {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Open sessions by session hash (the gateway reads one per request). */
  private readonly sessions = new Map<string, Guest>();
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly deps: GuestAccountsDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Makes the account: registered in our namespace, named, logged in (a device of its own, for
   * encrypted rooms), and, when the link lets the guest in directly, invited by the bot. Stored with
   * its session hash; ended at `expiresAt`.
   */
  async create(opts: NewGuest): Promise<Guest> {
    const { homeserver } = this.deps;
    const localpart = guestLocalpart(this.deps.prefix, randomBytes(8).toString('hex'));
    const userId = `@${localpart}:${this.deps.domain}`;
    await homeserver.request('POST', '/_matrix/client/v3/register', {
      type: 'm.login.application_service',
      username: localpart,
      inhibit_login: true,
    });
    const as = `?user_id=${enc(userId)}`;
    await homeserver.request('PUT', `/_matrix/client/v3/profile/${enc(userId)}/displayname${as}`, {
      displayname: opts.displayName,
    });
    const login = await homeserver.request<{ access_token?: unknown; device_id?: unknown }>(
      'POST',
      '/_matrix/client/v3/login',
      {
        type: 'm.login.application_service',
        identifier: { type: 'm.id.user', user: localpart },
        initial_device_display_name: 'Causerie guest',
      },
    );
    if (typeof login.access_token !== 'string' || typeof login.device_id !== 'string')
      throw new Error('the homeserver gave no access token for the guest');
    const guest: Guest = {
      userId,
      linkId: opts.linkId,
      roomId: opts.roomId,
      deviceId: login.device_id,
      accessToken: login.access_token,
      displayName: opts.displayName,
      expiresAt: opts.expiresAt,
    };
    await this.deps.db.query(
      `INSERT INTO guests (user_id, link_id, room_id, session_hash, device_id, sealed_token, display_name, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        userId,
        opts.linkId,
        opts.roomId,
        opts.sessionHash,
        guest.deviceId,
        this.deps.sealer.seal(guest.accessToken),
        opts.displayName,
        opts.expiresAt,
      ],
    );
    if (opts.invite) {
      await homeserver.request('POST', `/_matrix/client/v3/rooms/${enc(opts.roomId)}/invite`, {
        user_id: userId,
        reason: 'Guest link',
      });
    }
    this.sessions.set(opts.sessionHash, guest);
    this.schedule(guest.userId, opts.expiresAt);
    this.deps.audit.record({
      action: 'guest_created',
      roomId: opts.roomId,
      userId,
      detail: { link_id: opts.linkId, expires_at: opts.expiresAt.toISOString() },
    });
    this.deps.log.info('guest_created', { room_id: opts.roomId, user_id: userId, link_id: opts.linkId });
    return guest;
  }

  /** The open guest a session belongs to (ended and expired sessions are none). */
  async session(sessionHash: string): Promise<Guest | undefined> {
    const cached = this.sessions.get(sessionHash);
    if (cached !== undefined) return cached.expiresAt.getTime() > this.now() ? cached : undefined;
    const [row] = await this.deps.db.query<GuestRow>(
      `SELECT * FROM guests WHERE session_hash = $1 AND ended_at IS NULL AND expires_at > now()`,
      [sessionHash],
    );
    if (row === undefined) return undefined;
    const guest = this.fromRow(row);
    if (guest === undefined) return undefined;
    this.sessions.set(sessionHash, guest);
    return guest;
  }

  /** Ends every guest a link made (revocation); how many. */
  async endLink(linkId: string, reason: GuestEndReason): Promise<number> {
    const rows = await this.deps.db.query<{ user_id: string }>(
      `SELECT user_id FROM guests WHERE link_id = $1 AND ended_at IS NULL`,
      [linkId],
    );
    await Promise.all(rows.map((r) => this.end(r.user_id, reason)));
    return rows.length;
  }

  /**
   * Ends a guest: their session stops at once, they are removed from LiveKit and leave the room
   * (both at once), then the account is deactivated. Retried until the homeserver has done its part.
   */
  async end(userId: string, reason: GuestEndReason, attempt = 0): Promise<void> {
    clearTimeout(this.timers.get(userId));
    this.timers.delete(userId);
    const [row] = await this.deps.db.query<GuestRow>(
      `UPDATE guests SET ended_at = coalesce(ended_at, now()), end_reason = coalesce(end_reason, $2)
       WHERE user_id = $1 RETURNING *`,
      [userId, reason],
    );
    for (const [hash, g] of this.sessions) if (g.userId === userId) this.sessions.delete(hash);
    if (row?.deactivated_at !== null) return;
    const alias = livekitRoomAlias(row.room_id);
    const as = `?user_id=${enc(userId)}`;
    const [removed, left] = await Promise.allSettled([
      this.deps.identities.identitiesOf(alias, userId).then((ids) =>
        Promise.all(
          ids.map((id) =>
            this.deps.livekit.removeParticipant(alias, id).catch((err: unknown) => {
              // Not in the call (any more) is what we want.
              if (!/not found|not_found|404/i.test((err as Error).message)) throw err;
            }),
          ),
        ),
      ),
      this.deps.homeserver
        .request('POST', `/_matrix/client/v3/rooms/${enc(row.room_id)}/leave${as}`, { reason: `Guest link ${reason}` })
        .catch((err: unknown) => {
          // Not in the room (never let in, or already gone) is what we want.
          const status = (err as { status?: number }).status;
          if (status !== 403 && status !== 404) throw err;
        }),
    ]);
    let deactivated = false;
    if (left.status === 'fulfilled') {
      try {
        await this.deps.homeserver.request('POST', `/_matrix/client/v3/account/deactivate${as}`, {});
        await this.deps.db.query(`UPDATE guests SET deactivated_at = now() WHERE user_id = $1`, [userId]);
        deactivated = true;
      } catch (err) {
        this.deps.log.warn('guest_deactivate_failed', { user_id: userId, error: (err as Error).message });
      }
    }
    this.deps.audit.record({
      action: 'guest_ended',
      roomId: row.room_id,
      userId,
      detail: {
        reason,
        livekit_removed: removed.status === 'fulfilled',
        left_room: left.status === 'fulfilled',
        deactivated,
      },
    });
    this.deps.log.info('guest_ended', { room_id: row.room_id, user_id: userId, reason, deactivated });
    if (!deactivated && !this.stopped) {
      const wait = RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)] ?? 60_000;
      const retry = setTimeout(() => void this.end(userId, reason, attempt + 1).catch(this.logFailure(userId)), wait);
      retry.unref();
      this.timers.set(userId, retry);
    }
  }

  /** At start: ends guests whose time passed while we were away, arms timers for the others. */
  async resume(): Promise<number> {
    const rows = await this.deps.db.query<GuestRow>(`SELECT * FROM guests WHERE deactivated_at IS NULL`);
    for (const row of rows) {
      if (row.ended_at !== null) this.schedule(row.user_id, new Date(this.now()));
      else this.schedule(row.user_id, new Date(row.expires_at));
    }
    return rows.length;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private schedule(userId: string, at: Date): void {
    clearTimeout(this.timers.get(userId));
    const wait = Math.max(0, at.getTime() - this.now());
    const timer =
      wait > MAX_TIMER_MS
        ? setTimeout(() => {
            this.schedule(userId, at);
          }, MAX_TIMER_MS)
        : setTimeout(() => void this.end(userId, 'expired').catch(this.logFailure(userId)), wait);
    timer.unref();
    this.timers.set(userId, timer);
  }

  private logFailure(userId: string): (err: unknown) => void {
    return (err) => {
      this.deps.log.error('guest_end_failed', { user_id: userId, error: (err as Error).message });
      if (!this.stopped) this.schedule(userId, new Date(this.now() + 5_000));
    };
  }

  private fromRow(row: GuestRow): Guest | undefined {
    const accessToken = this.deps.sealer.open(row.sealed_token);
    if (accessToken === undefined) return undefined;
    return {
      userId: row.user_id,
      linkId: row.link_id,
      roomId: row.room_id,
      deviceId: row.device_id,
      accessToken,
      displayName: row.display_name,
      expiresAt: new Date(row.expires_at),
    };
  }
}

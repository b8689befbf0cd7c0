/**
 * Issues LiveKit JWTs for MatrixRTC calls: verifies the caller's OpenID token against their own
 * homeserver, checks they are joined to the room right now, decides their rights from power levels,
 * makes sure the LiveKit room exists when they may start the call, mints the token and audits the
 * decision. Deny-listed or not allow-listed homeservers are refused before any network call.
 * Without a room view (token-only mode, started as lk-jwt-service is: service/token-only.ts), it
 * decides as lk-jwt-service does: any verified Matrix user may join, with media; users of the
 * full-access servers may also start the call (create the LiveKit room).
 */
import { AccessToken, TrackSource } from 'livekit-server-sdk';

import { RoomNotVisibleError, type RoomView } from '../core/room-model.ts';
import type { AuditSink } from '../core/audit-trail.ts';
import type { DelegatedLeaveRegistry } from '../core/delegated-leave.ts';
import { ApiError, forbidden, internal, unavailable } from '../core/errors.ts';
import { decideGrant, type Grant, type GrantPolicy } from '../core/grants.ts';
import type { LivekitIdentities } from '../livekit/identities.ts';
import type { LivekitRooms } from '../livekit/rooms.ts';
import { livekitIdentityForMember, livekitLegacyIdentity, livekitRoomAlias } from '../core/livekit-names.ts';
import type { Logger } from '../core/log.ts';
import { isServerNameListed } from '../core/matrix-ids.ts';
import type { OpenIdVerifier } from '../federation/openid-verify.ts';
import type { LockableSource, PublishLocks } from './publish-locks.ts';
import { unauthorizedRequest, type TokenRequest } from './token-requests.ts';

const LOCKABLE = { microphone: TrackSource.MICROPHONE, camera: TrackSource.CAMERA } as const;
const PUBLISH_SOURCES = [
  TrackSource.CAMERA,
  TrackSource.MICROPHONE,
  TrackSource.SCREEN_SHARE,
  TrackSource.SCREEN_SHARE_AUDIO,
];

export interface TokenServiceDeps {
  verifier: Pick<OpenIdVerifier, 'verify'>;
  /** The rooms the appservice sees; absent in token-only mode. */
  rooms?: {
    get(roomId: string): Promise<RoomView>;
    confirmMember(roomId: string, userId: string): Promise<RoomView>;
    /** Why the view of this room may be behind the homeserver right now, if it may be. */
    stale(roomId: string): string | undefined;
  };
  identities: Pick<LivekitIdentities, 'record'>;
  /** Whether the database answers (false: refuse rather than grant what cannot be recorded). */
  databaseAvailable?: () => boolean;
  livekitRooms: Pick<LivekitRooms, 'ensure'>;
  audit: AuditSink;
  delayedLeaves: DelegatedLeaveRegistry;
  log: Logger;
  /** Sources a moderator keeps off for someone in a call (absent in token-only mode). */
  locks?: Pick<PublishLocks, 'locked'>;
  /** Counts decisions (metrics). */
  onDecision?: (endpoint: string, outcome: 'granted' | 'refused', reason: string) => void;
}

export interface TokenServiceOptions {
  livekitUrl: string;
  apiKey: string;
  apiSecret: string;
  ttlSeconds: number;
  policy: GrantPolicy;
  allowServers: readonly string[];
  denyServers: readonly string[];
}

export interface TokenResponse {
  url: string;
  jwt: string;
}

const notMember = (): ApiError => forbidden('You are not a member of this room', 'not_member');

export class TokenService {
  constructor(
    private readonly deps: TokenServiceDeps,
    private readonly opts: TokenServiceOptions,
  ) {}

  async issue(req: TokenRequest): Promise<TokenResponse> {
    const server = req.openIdToken.matrix_server_name;
    const base = { endpoint: req.endpoint, server };
    const verified: { userId?: string } = {};
    try {
      const result = await this.decide(req, verified);
      this.deps.audit.record({
        action: 'token_granted',
        roomId: req.roomId,
        userId: result.userId,
        detail: {
          ...base,
          device_id: req.deviceId,
          identity: result.identity,
          livekit_room: result.alias,
          publish: result.canPublish,
          room: result.presence,
        },
      });
      this.deps.onDecision?.(req.endpoint, 'granted', 'ok');
      // Every grant is in the audit log; the log line is for debugging.
      this.deps.log.debug('token_granted', {
        room_id: req.roomId,
        user_id: result.userId,
        device_id: req.deviceId,
        livekit_room: result.alias,
        publish: result.canPublish,
      });
      return { url: this.opts.livekitUrl, jwt: result.jwt };
    } catch (err) {
      const e = err instanceof ApiError ? err : internal();
      if (!(err instanceof ApiError))
        this.deps.log.error('token_internal_error', { room_id: req.roomId, error: (err as Error).message });
      // Refusals of verified users are audited; those of anyone who could not be verified are only
      // logged and counted (anyone can send them, and they must not fill the database).
      if (verified.userId !== undefined) {
        this.deps.audit.record({
          action: 'token_refused',
          roomId: req.roomId,
          userId: verified.userId,
          detail: { ...base, reason: e.reason, status: e.status },
        });
      }
      this.deps.onDecision?.(req.endpoint, 'refused', e.reason);
      this.deps.log.info('token_refused', {
        room_id: req.roomId,
        claimed_user_id: req.claimedUserId,
        server,
        reason: e.reason,
        status: e.status,
      });
      throw e;
    }
  }

  private async decide(req: TokenRequest, verified: { userId?: string }) {
    const server = req.openIdToken.matrix_server_name;
    if (
      isServerNameListed(server, this.opts.denyServers) ||
      (this.opts.allowServers.length > 0 && !isServerNameListed(server, this.opts.allowServers))
    ) {
      throw forbidden('Users of this homeserver may not join calls here', 'server_not_allowed');
    }
    // Fail closed: a grant we could not record (audit, identity) is not made.
    if (this.deps.databaseAvailable?.() === false) throw unavailable('database_unavailable');
    const { userId, grant } =
      this.deps.rooms === undefined
        ? await this.openGrant(req, server, verified)
        : await this.roomGrant(this.deps.rooms, req, server, verified);
    return this.mint(req, userId, grant);
  }

  /** Token-only mode: a verified user, rights from their server alone (as lk-jwt-service). */
  private async openGrant(
    req: TokenRequest,
    server: string,
    verified: { userId?: string },
  ): Promise<{ userId: string; grant: Grant }> {
    const userId = await this.deps.verifier.verify(req.openIdToken);
    if (req.claimedUserId !== undefined && req.claimedUserId !== userId)
      throw unauthorizedRequest('claimed_user_mismatch');
    verified.userId = userId;
    const fullAccess = this.opts.policy.fullAccessServers;
    return {
      userId,
      grant: {
        canPublish: true,
        canSubscribe: true,
        mayCreateRoom: fullAccess.includes('*') || isServerNameListed(server, fullAccess),
        displayName: undefined,
      },
    };
  }

  /** With the appservice's room view: a joined member now, rights from the room's power levels. */
  private async roomGrant(
    rooms: NonNullable<TokenServiceDeps['rooms']>,
    req: TokenRequest,
    server: string,
    verified: { userId?: string },
  ): Promise<{ userId: string; grant: Grant }> {
    let room;
    try {
      room = await rooms.get(req.roomId);
    } catch (err) {
      // A room the bot is not in answers exactly like a room one is not in: no probing which rooms
      // Causerie serves.
      if (err instanceof RoomNotVisibleError) throw notMember();
      throw unavailable('local_homeserver_unreachable');
    }
    // Nobody of that server is in the room: refused before any lookup or request goes to it, so
    // made-up server names cannot keep our resolver (or anyone else's server) busy.
    if (room.hasServer?.(server) === false) throw notMember();
    const userId = await this.deps.verifier.verify(req.openIdToken);
    if (req.claimedUserId !== undefined && req.claimedUserId !== userId)
      throw unauthorizedRequest('claimed_user_mismatch');
    verified.userId = userId;

    let grant = decideGrant(room, userId, server, this.opts.policy);
    // Before refusing on membership, ask the homeserver: the join may not have reached us yet. And
    // never grant on a view known to be behind (a held transaction may hold this user's ban).
    const stale = rooms.stale(req.roomId);
    if (
      (grant instanceof ApiError && room.members.get(userId)?.membership !== 'join') ||
      (stale !== undefined && !(grant instanceof ApiError))
    ) {
      try {
        grant = decideGrant(await rooms.confirmMember(req.roomId, userId), userId, server, this.opts.policy);
      } catch (err) {
        if (err instanceof RoomNotVisibleError) throw notMember();
        throw unavailable('local_homeserver_unreachable');
      }
    }
    if (grant instanceof ApiError) throw grant;
    return { userId, grant };
  }

  private async mint(req: TokenRequest, userId: string, grant: Grant) {
    const alias = livekitRoomAlias(req.roomId, req.slotId);
    const identity =
      req.memberId === undefined
        ? livekitLegacyIdentity(userId, req.deviceId)
        : livekitIdentityForMember(userId, req.deviceId, req.memberId);

    let presence;
    try {
      presence = await this.deps.livekitRooms.ensure(alias, grant.mayCreateRoom);
    } catch (err) {
      this.deps.log.error('livekit_unreachable', { room_id: req.roomId, error: (err as Error).message });
      throw unavailable('livekit_unreachable');
    }
    if (presence === 'missing') {
      throw forbidden(
        `No call is running in this room yet; a member from ${this.opts.policy.fullAccessServers.join(', ')} has to start it`,
        'call_not_started',
      );
    }

    // A moderator keeps a source off for this user in this call: the token leaves it out.
    const lockedSources = (await this.deps.locks?.locked(alias, userId)) ?? new Set<LockableSource>();
    const token = new AccessToken(this.opts.apiKey, this.opts.apiSecret, {
      identity,
      name: grant.displayName ?? userId,
      ttl: this.opts.ttlSeconds,
      attributes: {
        matrix_user_id: userId,
        matrix_device_id: req.deviceId,
        ...(req.memberId === undefined ? {} : { matrix_member_id: req.memberId }),
        // Kept muted by a moderator: everyone's participant list shows it (as server/moderation.ts sets it).
        ...(lockedSources.has('microphone') ? { 'causerie.mic_locked': '1' } : {}),
        ...(lockedSources.has('camera') ? { 'causerie.cam_locked': '1' } : {}),
      },
    });
    const locked = new Set<TrackSource>([...lockedSources].map((s) => LOCKABLE[s]));
    token.addGrant({
      room: alias,
      roomJoin: true,
      roomCreate: false,
      canPublish: grant.canPublish,
      ...(locked.size === 0 ? {} : { canPublishSources: PUBLISH_SOURCES.filter((s) => !locked.has(s)) }),
      canPublishData: true,
      canSubscribe: true,
      // Never roomAdmin: with it a participant could rewrite its own (or anyone's) permissions and
      // attributes, hide itself, and keep rights after being demoted.
      roomAdmin: false,
      canUpdateOwnMetadata: false,
    });
    const jwt = await token.toJwt();
    try {
      await this.deps.identities.record({
        livekitRoom: alias,
        identity,
        roomId: req.roomId,
        userId,
        deviceId: req.deviceId,
      });
    } catch (err) {
      this.deps.log.error('identity_record_failed', { room_id: req.roomId, error: (err as Error).message });
      throw unavailable('database_unavailable');
    }

    if (req.delayedLeave !== undefined) {
      await this.deps.delayedLeaves
        .register({
          livekitRoom: alias,
          identity,
          roomId: req.roomId,
          userId,
          deviceId: req.deviceId,
          delayId: req.delayedLeave.delayId,
          delayTimeoutMs: req.delayedLeave.timeoutMs,
          csApiUrl: req.delayedLeave.csApiUrl,
        })
        .catch((err: unknown) => {
          this.deps.log.error('delayed_leave_register_failed', { room_id: req.roomId, error: (err as Error).message });
          throw unavailable('database_unavailable');
        });
    }
    return { userId, identity, alias, jwt, presence, canPublish: grant.canPublish };
  }
}

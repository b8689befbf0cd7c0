/**
 * Issues LiveKit JWTs for MatrixRTC calls: verifies the caller's OpenID token against their own
 * homeserver, checks they are joined to the room right now, decides their rights from power levels,
 * makes sure the LiveKit room exists when they may start the call, mints the token and audits the
 * decision. Deny-listed or not allow-listed homeservers are refused before any network call.
 */
import { AccessToken } from 'livekit-server-sdk';

import { RoomNotVisibleError, type RoomView } from '../appservice/room-state.ts';
import type { Database } from '../schema/database.ts';
import type { AuditLog } from './audit.ts';
import { ApiError, forbidden } from './errors.ts';
import { decideGrant, type GrantPolicy } from './grants.ts';
import type { LivekitRooms } from './livekit-rooms.ts';
import { livekitIdentityForMember, livekitLegacyIdentity, livekitRoomAlias } from './livekit-names.ts';
import type { Logger } from './log.ts';
import type { OpenIdVerifier } from './openid-verify.ts';
import { unauthorized, type TokenRequest } from './token-requests.ts';

export interface TokenServiceDeps {
  verifier: Pick<OpenIdVerifier, 'verify'>;
  rooms: { get(roomId: string): Promise<RoomView>; confirmMember(roomId: string, userId: string): Promise<RoomView> };
  livekitRooms: Pick<LivekitRooms, 'ensure'>;
  audit: Pick<AuditLog, 'record'>;
  db: Pick<Database, 'query'>;
  log: Logger;
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

export class TokenService {
  constructor(
    private readonly deps: TokenServiceDeps,
    private readonly opts: TokenServiceOptions,
  ) {}

  async issue(req: TokenRequest): Promise<TokenResponse> {
    const server = req.openIdToken.matrix_server_name;
    const base = { endpoint: req.endpoint, server };
    try {
      const result = await this.decide(req);
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
          admin: result.roomAdmin,
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
      const e = err instanceof ApiError ? err : new ApiError('M_UNKNOWN', 'Internal error', { reason: 'internal' });
      if (!(err instanceof ApiError))
        this.deps.log.error('token_internal_error', { room_id: req.roomId, error: (err as Error).message });
      this.deps.audit.record({
        action: 'token_refused',
        roomId: req.roomId,
        // Not verified: kept as a detail, never as the row's user.
        detail: { ...base, claimed_user_id: req.claimedUserId, reason: e.reason, status: e.status },
      });
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

  private async decide(req: TokenRequest) {
    const server = req.openIdToken.matrix_server_name;
    if (
      this.opts.denyServers.includes(server) ||
      (this.opts.allowServers.length > 0 && !this.opts.allowServers.includes(server))
    ) {
      throw forbidden('Users of this homeserver may not join calls here', 'server_not_allowed');
    }
    const userId = await this.deps.verifier.verify(req.openIdToken);
    if (req.claimedUserId !== undefined && req.claimedUserId !== userId) throw unauthorized('claimed_user_mismatch');

    let room;
    try {
      room = await this.deps.rooms.get(req.roomId);
    } catch (err) {
      if (err instanceof RoomNotVisibleError) {
        throw new ApiError('M_NOT_FOUND', 'No call service in this room: unknown room, or Causerie was not invited', {
          reason: 'room_unknown',
        });
      }
      throw new ApiError('M_UNKNOWN', 'Our homeserver could not be reached', {
        status: 502,
        reason: 'local_homeserver_unreachable',
      });
    }
    let grant = decideGrant(room, userId, server, this.opts.policy);
    if (grant instanceof ApiError && room.members.get(userId)?.membership !== 'join') {
      // Before refusing on membership, ask the homeserver: the join may not have reached us yet.
      try {
        grant = decideGrant(await this.deps.rooms.confirmMember(req.roomId, userId), userId, server, this.opts.policy);
      } catch {
        throw new ApiError('M_UNKNOWN', 'Our homeserver could not be reached', {
          status: 502,
          reason: 'local_homeserver_unreachable',
        });
      }
    }
    if (grant instanceof ApiError) throw grant;

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
      throw new ApiError('M_UNKNOWN', 'The media server could not be reached', {
        status: 502,
        reason: 'livekit_unreachable',
      });
    }
    if (presence === 'missing') {
      throw forbidden(
        `No call is running in this room yet; a member from ${this.opts.policy.fullAccessServers.join(', ')} has to start it`,
        'call_not_started',
      );
    }

    const token = new AccessToken(this.opts.apiKey, this.opts.apiSecret, {
      identity,
      name: grant.displayName ?? userId,
      ttl: this.opts.ttlSeconds,
      attributes: {
        matrix_user_id: userId,
        matrix_device_id: req.deviceId,
        ...(req.memberId === undefined ? {} : { matrix_member_id: req.memberId }),
      },
    });
    token.addGrant({
      room: alias,
      roomJoin: true,
      roomCreate: false,
      canPublish: grant.canPublish,
      canPublishData: true,
      canSubscribe: true,
      roomAdmin: grant.roomAdmin,
      canUpdateOwnMetadata: false,
    });
    const jwt = await token.toJwt();

    if (req.delayedLeave !== undefined) {
      await this.deps.db.query(
        `INSERT INTO delegated_leaves (livekit_room, identity, room_id, user_id, device_id, delay_id, delay_timeout_ms, cs_api_url)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (livekit_room, identity) DO UPDATE SET delay_id = EXCLUDED.delay_id,
           delay_timeout_ms = EXCLUDED.delay_timeout_ms, cs_api_url = EXCLUDED.cs_api_url, created_at = now()`,
        [
          alias,
          identity,
          req.roomId,
          userId,
          req.deviceId,
          req.delayedLeave.delayId,
          req.delayedLeave.timeoutMs,
          req.delayedLeave.csApiUrl ?? null,
        ],
      );
    }
    return { userId, identity, alias, jwt, presence, canPublish: grant.canPublish, roomAdmin: grant.roomAdmin };
  }
}

/**
 * Taking media access away: when a member leaves, is kicked or banned, their LiveKit identities are
 * removed from the room's call; when power levels change, each participant's publish permission is
 * recomputed. Acts on events as they arrive and also sweeps on a timer (reconciliation), so a removal
 * that failed (LiveKit briefly down) is done later, and only a confirmed loss of membership removes
 * anyone. Who a participant is comes from our record of the identities we granted
 * (`LivekitIdentities`), never from attributes or names a participant can change; a participant
 * whose identity we never granted is removed by the sweep.
 */
import type { ParticipantInfo, RoomServiceClient } from 'livekit-server-sdk';

import type { AuditSink } from '../core/audit-trail.ts';
import { ApiError } from '../core/errors.ts';
import { decideGrant, type GrantPolicy } from '../core/grants.ts';
import { listParticipantsOrGone, livekitErrorKind } from '../livekit/errors.ts';
import type { LivekitIdentities } from '../livekit/identities.ts';
import { livekitRoomAlias } from '../core/livekit-names.ts';
import type { Logger } from '../core/log.ts';
import type { CallRoomView } from '../core/room-model.ts';
import type { RoomStates } from './room-cache.ts';

export type LivekitRoomApi = Pick<
  RoomServiceClient,
  'listParticipants' | 'removeParticipant' | 'updateParticipant' | 'listRooms'
>;

export interface RevokerDeps {
  livekit: LivekitRoomApi;
  identities: Pick<LivekitIdentities, 'identitiesOf' | 'knownIdentitiesOf' | 'usersOf'>;
  rooms: Pick<RoomStates, 'peek' | 'roomIds'>;
  audit: AuditSink;
  log: Logger;
  policy: GrantPolicy;
  /** Called with the time from the Matrix event's arrival to the removal, per identity removed. */
  onRemoved?: (latencyMs: number, reason: string) => void;
}

const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

const notFound = (err: unknown): boolean => livekitErrorKind(err) === 'not_found';

export class Revoker {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: RevokerDeps) {}

  /**
   * The Matrix users behind the participants of a LiveKit room, from our record of each identity
   * granted; undefined for an identity we never granted (whatever it looks like).
   */
  private async participants(alias: string): Promise<{ p: ParticipantInfo; userId: string | undefined }[]> {
    const present = await listParticipantsOrGone(this.deps.livekit, alias);
    const users = await this.deps.identities.usersOf(
      alias,
      present.map((p) => p.identity),
    );
    return present.map((p) => ({ p, userId: users.get(p.identity) }));
  }

  private removed(roomId: string, userId: string | undefined, identity: string, reason: string, since?: number): void {
    const latency = since === undefined ? undefined : Date.now() - since;
    if (latency !== undefined) this.deps.onRemoved?.(latency, reason);
    this.deps.audit.record({
      action: 'participant_removed',
      roomId,
      userId,
      detail: { identity, reason, ...(latency === undefined ? {} : { latency_ms: latency }) },
    });
    this.deps.log.info('participant_removed', {
      room_id: roomId,
      user_id: userId,
      identity,
      reason,
      latency_ms: latency,
    });
  }

  /**
   * Removes every LiveKit identity we granted `userId` from the room's call, straight away (no
   * listing first: a ban must take effect in milliseconds). Identities not connected are skipped.
   */
  async removeUser(roomId: string, userId: string, reason: string, eventArrivedAt = Date.now()): Promise<number> {
    const alias = livekitRoomAlias(roomId);
    // What this instance knows now (its grants, the MatrixRTC memberships) goes out at once; the
    // database's record (grants made by other instances) is read meanwhile and goes out after.
    const first = new Set(this.deps.identities.knownIdentitiesOf(alias, userId));
    const room = this.deps.rooms.peek(roomId);
    const named =
      room?.rtcIdentitiesOf?.(userId) ??
      [...(room?.rtc.values() ?? [])]
        .flat()
        .filter((m) => m.userId === userId)
        .map((m) => m.livekitIdentity);
    for (const identity of named) first.add(identity);
    const recorded = this.deps.identities.identitiesOf(alias, userId);
    const remove = async (identity: string): Promise<number> => {
      try {
        await this.deps.livekit.removeParticipant(alias, identity);
        this.removed(roomId, userId, identity, reason, eventArrivedAt);
        return 1;
      } catch (err) {
        if (notFound(err)) return 0; // not connected
        throw err;
      }
    };
    const sum = (ns: number[]): number => ns.reduce((a, b) => a + b, 0);
    const [now, rest] = await Promise.all([
      Promise.all([...first].map(remove)),
      recorded.then((ids) => Promise.all(ids.filter((i) => !first.has(i)).map(remove))),
    ]);
    return sum(now) + sum(rest);
  }

  /**
   * A participant just connected: out at once if its identity is not one we granted or its user is
   * no longer a member (a removed member reconnecting with a token LiveKit still honours); its
   * publish permission set to what its power allows now (a demoted member reconnecting).
   */
  async admit(roomId: string, p: ParticipantInfo, userId: string | undefined): Promise<'removed' | 'admitted'> {
    const alias = livekitRoomAlias(roomId);
    const room = this.deps.rooms.peek(roomId);
    const membership = userId === undefined ? undefined : room?.members.get(userId)?.membership;
    if (userId === undefined || (membership !== undefined && membership !== 'join')) {
      await this.deps.livekit.removeParticipant(alias, p.identity).catch((err: unknown) => {
        if (!notFound(err)) throw err;
      });
      this.removed(
        roomId,
        userId,
        p.identity,
        userId === undefined ? 'unknown_identity' : `reconnected_after_${membership ?? ''}`,
      );
      return 'removed';
    }
    if (room !== undefined && membership === 'join') {
      const grant = decideGrant(room, userId, serverOf(userId), this.deps.policy);
      const current = p.permission?.canPublish ?? true;
      if (!(grant instanceof ApiError) && current !== grant.canPublish) {
        await this.deps.livekit.updateParticipant(alias, p.identity, {
          permission: { canPublish: grant.canPublish, canSubscribe: true, canPublishData: true },
        });
        this.deps.log.info('participant_permission', {
          room_id: roomId,
          user_id: userId,
          identity: p.identity,
          publish: grant.canPublish,
        });
      }
    }
    return 'admitted';
  }

  /** Recomputes publish permission of everyone in the call after a power level change. */
  async updatePermissions(room: CallRoomView): Promise<void> {
    const alias = livekitRoomAlias(room.roomId);
    for (const { p, userId } of await this.participants(alias)) {
      if (userId === undefined) continue;
      const grant = decideGrant(room, userId, serverOf(userId), this.deps.policy);
      if (grant instanceof ApiError) {
        // Only a confirmed loss of membership (or a policy refusal) removes anyone; a member we
        // simply do not know about is left to the sweep.
        if (room.members.get(userId) !== undefined) await this.removeUser(room.roomId, userId, grant.reason);
        continue;
      }
      const current = p.permission?.canPublish ?? true;
      if (current === grant.canPublish) continue;
      await this.deps.livekit.updateParticipant(alias, p.identity, {
        permission: { canPublish: grant.canPublish, canSubscribe: true, canPublishData: true },
      });
      this.deps.audit.record({
        action: 'participant_permission',
        roomId: room.roomId,
        userId,
        detail: { identity: p.identity, publish: grant.canPublish },
      });
      this.deps.log.info('participant_permission', {
        room_id: room.roomId,
        user_id: userId,
        identity: p.identity,
        publish: grant.canPublish,
      });
    }
  }

  /** One reconciliation pass: every participant of every call must still be a joined member. */
  async sweep(): Promise<void> {
    const ids = this.deps.rooms.roomIds();
    const byAlias = new Map(ids.map((id) => [livekitRoomAlias(id), id]));
    if (byAlias.size === 0) return;
    const live = await this.deps.livekit.listRooms([...byAlias.keys()]);
    for (const lk of live) {
      const roomId = byAlias.get(lk.name);
      const room = roomId === undefined ? undefined : this.deps.rooms.peek(roomId);
      if (room === undefined || roomId === undefined) continue;
      for (const { p, userId } of await this.participants(lk.name)) {
        if (userId === undefined) {
          // Connected with an identity we never granted (or whose record was dropped): out.
          await this.deps.livekit.removeParticipant(lk.name, p.identity).catch((err: unknown) => {
            if (!notFound(err)) throw err;
          });
          this.removed(roomId, undefined, p.identity, 'sweep_unknown_identity');
          continue;
        }
        const membership = room.members.get(userId)?.membership;
        // Only a confirmed loss of membership removes anyone.
        if (membership !== undefined && membership !== 'join')
          await this.removeUser(roomId, userId, `sweep_${membership}`);
      }
    }
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.sweep().catch((err: unknown) => {
        this.deps.log.warn('revocation_sweep_failed', { error: (err as Error).message });
      });
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}

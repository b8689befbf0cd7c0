/**
 * Taking media access away: when a member leaves, is kicked or banned, their LiveKit identities are
 * removed from the room's call; when power levels change, each participant's publish permission is
 * recomputed. Acts on events as they arrive and also sweeps on a timer (reconciliation), so a removal
 * that failed (LiveKit briefly down) is done later, and only a confirmed loss of membership removes
 * anyone.
 */
import type { ParticipantInfo, RoomServiceClient } from 'livekit-server-sdk';

import type { AuditLog } from '../server/audit.ts';
import { ApiError } from '../server/errors.ts';
import { decideGrant, type GrantPolicy } from '../server/grants.ts';
import { livekitRoomAlias } from '../server/livekit-names.ts';
import type { Logger } from '../server/log.ts';
import type { CallRoomView, RoomStates } from './room-state.ts';

export type LivekitRoomApi = Pick<
  RoomServiceClient,
  'listParticipants' | 'removeParticipant' | 'updateParticipant' | 'listRooms'
>;

export interface RevokerDeps {
  livekit: LivekitRoomApi;
  rooms: Pick<RoomStates, 'peek' | 'roomIds'>;
  audit: Pick<AuditLog, 'record'>;
  log: Logger;
  policy: GrantPolicy;
  /** Called with the time from the Matrix event's arrival to the removal, per identity removed. */
  onRemoved?: (latencyMs: number, reason: string) => void;
}

const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

/** The Matrix user behind a LiveKit participant: our JWT attribute, else a known MatrixRTC identity. */
export function participantUser(p: ParticipantInfo, room: CallRoomView | undefined): string | undefined {
  const attr = p.attributes['matrix_user_id'];
  if (attr !== undefined && attr !== '') return attr;
  if (room !== undefined) {
    for (const ms of room.rtc.values()) for (const m of ms) if (m.livekitIdentity === p.identity) return m.userId;
  }
  // `<user_id>:<device_id>`: device ids carry no ':'.
  const i = p.identity.lastIndexOf(':');
  return p.identity.startsWith('@') && i > p.identity.indexOf(':') ? p.identity.slice(0, i) : undefined;
}

function notFound(err: unknown): boolean {
  const e = err as { status?: number; code?: string; message?: string };
  return e.status === 404 || e.code === 'not_found' || /not.?found|does not exist/i.test(e.message ?? '');
}

export class Revoker {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: RevokerDeps) {}

  private async participants(alias: string): Promise<ParticipantInfo[]> {
    try {
      return await this.deps.livekit.listParticipants(alias);
    } catch (err) {
      if (notFound(err)) return [];
      throw err;
    }
  }

  /** Removes every LiveKit identity of `userId` from the room's call. */
  async removeUser(roomId: string, userId: string, reason: string, eventArrivedAt = Date.now()): Promise<number> {
    const alias = livekitRoomAlias(roomId);
    const room = this.deps.rooms.peek(roomId);
    let removed = 0;
    for (const p of await this.participants(alias)) {
      if (participantUser(p, room) !== userId) continue;
      try {
        await this.deps.livekit.removeParticipant(alias, p.identity);
      } catch (err) {
        if (!notFound(err)) throw err;
      }
      removed++;
      const latency = Date.now() - eventArrivedAt;
      this.deps.onRemoved?.(latency, reason);
      this.deps.audit.record({
        action: 'participant_removed',
        roomId,
        userId,
        detail: { identity: p.identity, reason, latency_ms: latency },
      });
      this.deps.log.info('participant_removed', {
        room_id: roomId,
        user_id: userId,
        identity: p.identity,
        reason,
        latency_ms: latency,
      });
    }
    return removed;
  }

  /** Recomputes publish permission of everyone in the call after a power level change. */
  async updatePermissions(room: CallRoomView): Promise<void> {
    const alias = livekitRoomAlias(room.roomId);
    for (const p of await this.participants(alias)) {
      const userId = participantUser(p, room);
      if (userId === undefined) continue;
      const grant = decideGrant(room, userId, serverOf(userId), this.deps.policy);
      if (grant instanceof ApiError) {
        await this.removeUser(room.roomId, userId, grant.reason);
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
      for (const p of await this.participants(lk.name)) {
        const userId = participantUser(p, room);
        if (userId === undefined) continue;
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

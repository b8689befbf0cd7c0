/**
 * MatrixRTC memberships that outlive their LiveKit participant (a closed tab, a crashed client):
 * when a participant leaves our SFU and has not come back within the grace period, the bot clears
 * its membership by writing `{}` to its state key, so clients stop showing a ghost in the call.
 * Only a confirmed absence counts: LiveKit unreachable clears nothing.
 */
import type { RoomServiceClient } from 'livekit-server-sdk';

import type { AuditSink } from '../core/audit-trail.ts';
import type { Logger } from '../core/log.ts';
import type { CallRoomView } from '../core/room-model.ts';
import { CALL_MEMBER_EVENT, type RtcMembership } from '../core/rtc-membership.ts';
import { listParticipantsOrGone } from '../livekit/errors.ts';
import type { HomeserverClient } from './homeserver-client.ts';
import type { RoomStates } from './room-cache.ts';

const trimSlashes = (url: string): string => {
  let end = url.length;
  while (end > 0 && url[end - 1] === '/') end--;
  return url.slice(0, end);
};

/**
 * The membership to clear once `identity` is confirmed gone from our SFU, if any: the room's
 * membership for that LiveKit identity, when it sits under a per-device state key (the only kind
 * writing `{}` clears: not a sticky `rtc:` one, not a legacy per-user one) and names our SFU (one on
 * its own SFU may well still be in the call there).
 */
export function membershipToClear(
  room: Pick<CallRoomView, 'rtc'>,
  identity: string,
  publicUrl: string,
): RtcMembership | undefined {
  const stale = [...room.rtc.values()].flat().find((m) => m.livekitIdentity === identity);
  if (stale === undefined || stale.stateKey.startsWith('rtc:') || stale.stateKey === stale.userId) return undefined;
  if (stale.livekitServiceUrl !== undefined && trimSlashes(stale.livekitServiceUrl) !== trimSlashes(publicUrl))
    return undefined;
  return stale;
}

export interface StaleMembershipsDeps {
  rooms: Pick<RoomStates, 'peek'>;
  homeserver: Pick<HomeserverClient, 'sendState'>;
  livekit: Pick<RoomServiceClient, 'listParticipants'>;
  audit: AuditSink;
  log: Logger;
  /** Our SFU, as memberships name it. */
  publicUrl: string;
  /** How long a participant that left may take to come back before its membership counts as stale. */
  graceMs: number;
}

export class StaleMemberships {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly deps: StaleMembershipsDeps) {}

  /** A participant left LiveKit: after the grace period, clears its membership if it did not come back. */
  watch(roomId: string, alias: string, identity: string): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.clear(roomId, alias, identity).catch((err: unknown) => {
        this.deps.log.warn('stale_membership_cleanup_failed', {
          room_id: roomId,
          identity,
          error: (err as Error).message,
        });
      });
    }, this.deps.graceMs);
    timer.unref();
    this.timers.add(timer);
  }

  /** Clears the membership of `identity` if it is one we may clear and LiveKit confirms it gone. */
  async clear(roomId: string, alias: string, identity: string): Promise<void> {
    const { deps } = this;
    const room = deps.rooms.peek(roomId);
    if (room === undefined) return;
    const stale = membershipToClear(room, identity, deps.publicUrl);
    if (stale === undefined) return;
    // LiveKit unreachable throws here: a failure to ask never counts as "gone".
    const present = await listParticipantsOrGone(deps.livekit, alias);
    if (present.some((p) => p.identity === identity)) return;
    await deps.homeserver.sendState(roomId, CALL_MEMBER_EVENT, stale.stateKey, {});
    deps.audit.record({
      action: 'stale_membership_removed',
      roomId,
      userId: stale.userId,
      detail: { identity, state_key: stale.stateKey },
    });
    deps.log.info('stale_membership_removed', { room_id: roomId, user_id: stale.userId, identity });
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

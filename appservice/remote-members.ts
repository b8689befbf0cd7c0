/**
 * Members of a room's call who publish on another deployment's SFU (MatrixRTC multi-SFU): their
 * membership names another token service than ours, so our LiveKit never sends a webhook about
 * them. Their presence comes from their memberships: each one (joined member, not expired) is a
 * participant of the room's call (row identity `remote:<LiveKit identity>`), counted in the start
 * notice and the summary. A call held only on other SFUs is recorded and announced like one on
 * ours; it ends once no member is left anywhere, after a grace period — a member dropping and
 * coming back continues the same call, and toggling a membership cannot make the bot post more
 * than one start and one end per grace period. Our SFU closing its room does not end a call that
 * continues on another SFU.
 */
import { livekitRoomAlias } from '../core/livekit-names.ts';
import type { Logger } from '../core/log.ts';
import type { CallRoomView, RoomChange } from '../core/room-model.ts';
import type { RtcMembership } from '../core/rtc-membership.ts';
import type { CallStore } from './call-store.ts';
import type { Calls } from './calls.ts';
import type { RoomStates } from './room-cache.ts';

/** Participant rows of members on other SFUs carry this prefix before their LiveKit identity. */
export const REMOTE_PARTICIPANT = 'remote:';

export const isRemoteParticipant = (identity: string): boolean => identity.startsWith(REMOTE_PARTICIPANT);

/** A token service URL as memberships name it, compared without case in the host or trailing slashes. */
export function sameService(a: string, b: string): boolean {
  const norm = (url: string): string => {
    try {
      const u = new URL(url);
      return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
    } catch {
      return url.replace(/\/+$/, '');
    }
  };
  return norm(a) === norm(b);
}

/**
 * The room's memberships on another SFU than ours, at `now`: of joined members only, not expired,
 * one per LiveKit identity. A membership that names no service is on ours.
 */
export function remoteMembers(room: Pick<CallRoomView, 'rtc' | 'members'>, ownServiceUrl: string, now: number): RtcMembership[] {
  const out = new Map<string, RtcMembership>();
  for (const list of room.rtc.values())
    for (const m of list) {
      if (m.livekitServiceUrl === undefined || sameService(m.livekitServiceUrl, ownServiceUrl)) continue;
      if (m.expiresAt !== undefined && m.expiresAt.getTime() <= now) continue;
      if (room.members.get(m.userId)?.membership !== 'join') continue;
      out.set(m.livekitIdentity, m);
    }
  return [...out.values()];
}

export interface RemoteMembersDeps {
  rooms: Pick<RoomStates, 'peek'>;
  store: Pick<CallStore, 'start' | 'running' | 'openParticipants' | 'participantJoined' | 'participantLeft'>;
  calls: Pick<Calls, 'finish' | 'announceStartedElsewhere'>;
  log: Logger;
  /** Our token service, as memberships name it. */
  publicUrl: string;
  /** How long a call with nobody left anywhere waits before it ends. */
  endGraceMs: number;
  now?: () => number;
}

export class RemoteMembers {
  /** Remote identities recorded per room, as far as this instance knows (the database has them all). */
  private readonly known = new Map<string, Set<string>>();
  /** One sync at a time per room. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly endTimers = new Map<string, NodeJS.Timeout>();
  private readonly now: () => number;

  constructor(private readonly deps: RemoteMembersDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Whether a room change may change who is on other SFUs: a membership naming another service, a
   * member leaving, or any change in a room where someone is on another SFU.
   */
  concerns(roomId: string, change: RoomChange): boolean {
    if ((this.known.get(roomId)?.size ?? 0) > 0) return change.kind === 'rtc' || change.kind === 'member';
    return (
      change.kind === 'rtc' &&
      change.memberships.some(
        (m) => m.livekitServiceUrl !== undefined && !sameService(m.livekitServiceUrl, this.deps.publicUrl),
      )
    );
  }

  /** Brings the room's call in line with its members on other SFUs (serialised per room). */
  sync(roomId: string): Promise<void> {
    const previous = this.queues.get(roomId) ?? Promise.resolve();
    const next = previous.then(() => this.syncNow(roomId));
    const settled = next.catch(() => undefined);
    this.queues.set(roomId, settled);
    void settled.then(() => {
      if (this.queues.get(roomId) === settled) this.queues.delete(roomId);
    });
    return next;
  }

  /** Whether anyone of the room is on another SFU now (then our SFU closing its room ends nothing). */
  present(roomId: string): boolean {
    const room = this.deps.rooms.peek(roomId);
    return room !== undefined && remoteMembers(room, this.deps.publicUrl, this.now()).length > 0;
  }

  stop(): void {
    for (const t of this.endTimers.values()) clearTimeout(t);
    this.endTimers.clear();
  }

  private async syncNow(roomId: string): Promise<void> {
    const { deps } = this;
    const room = deps.rooms.peek(roomId);
    if (room === undefined) return;
    const now = this.now();
    const wanted = new Map(remoteMembers(room, deps.publicUrl, now).map((m) => [REMOTE_PARTICIPANT + m.livekitIdentity, m]));
    let running = await deps.store.running(roomId);
    if (running === undefined) {
      if (wanted.size === 0) {
        this.known.delete(roomId);
        return;
      }
      // A call held on another deployment's SFU in a room we serve: recorded and announced as any.
      const first = [...wanted.values()][0];
      running = (await deps.store.start(roomId, livekitRoomAlias(roomId), first?.userId, undefined)).call;
      deps.log.info('call_seen_elsewhere', { room_id: roomId, call_id: running.callId, members: wanted.size });
    }
    const callId = running.callId;
    const open = await deps.store.openParticipants(callId);
    const openRemote = open.filter(isRemoteParticipant);
    const at = new Date(now);
    for (const [identity, m] of wanted)
      if (!openRemote.includes(identity)) await deps.store.participantJoined(callId, identity, m.userId, m.deviceId, at);
    for (const identity of openRemote)
      if (!wanted.has(identity)) await deps.store.participantLeft(callId, identity, 'membership_ended', at);
    this.known.set(roomId, new Set(wanted.keys()));
    if (wanted.size > 0) {
      clearTimeout(this.endTimers.get(roomId));
      this.endTimers.delete(roomId);
      const first = [...wanted.values()][0];
      if (first !== undefined) await deps.calls.announceStartedElsewhere(running, running.startedBy ?? first.userId);
      return;
    }
    // The last member on other SFUs went, and nobody is on ours: the call ends unless someone
    // comes back (anywhere) within the grace period.
    if (openRemote.length > 0 && !open.some((i) => !isRemoteParticipant(i))) this.endLater(roomId, callId);
  }

  private endLater(roomId: string, callId: number): void {
    clearTimeout(this.endTimers.get(roomId));
    const timer = setTimeout(() => {
      this.endTimers.delete(roomId);
      void this.sync(roomId)
        .then(async () => {
          const running = await this.deps.store.running(roomId);
          if (running?.callId !== callId) return;
          if ((await this.deps.store.openParticipants(callId)).length > 0) return;
          await this.deps.calls.finish(roomId, 'everyone_left');
        })
        .catch((err: unknown) => {
          this.deps.log.warn('call_end_check_failed', { room_id: roomId, error: (err as Error).message });
        });
    }, this.deps.endGraceMs);
    timer.unref();
    this.endTimers.set(roomId, timer);
  }
}

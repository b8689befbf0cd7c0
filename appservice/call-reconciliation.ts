/**
 * Running calls checked against LiveKit on a timer, for what no webhook told us: a call whose LiveKit
 * room is gone though LiveKit answers (it restarted and lost its rooms, or its room_finished never
 * reached us) is recreated when people were still connected (their clients reconnect), else ended
 * with its summary; a call whose room exists gets its participants recounted (a webhook lost while
 * we were down); members on other SFUs are counted again from their memberships (remote-members.ts).
 * LiveKit unreachable changes nothing: the check fails and runs again later.
 */
import type { RoomServiceClient } from 'livekit-server-sdk';

import type { AuditSink } from '../core/audit-trail.ts';
import type { Logger } from '../core/log.ts';
import { listParticipantsOrGone } from '../livekit/errors.ts';
import type { LivekitIdentities } from '../livekit/identities.ts';
import type { LivekitRooms } from '../livekit/rooms.ts';
import type { CallRow, CallStore } from './call-store.ts';
import type { Calls } from './calls.ts';
import { isRemoteParticipant, type RemoteMembers } from './remote-members.ts';

/** A running call whose LiveKit room vanished: recreated if anyone was connected, else over. */
export function lostRoomAction(connectedParticipants: number): 'recreate' | 'end' {
  return connectedParticipants > 0 ? 'recreate' : 'end';
}

/**
 * Participant rows brought in line with LiveKit: those present but not recorded as connected have
 * joined, those recorded as connected but absent have left; the others stay as they are.
 */
export function recount<P extends { identity: string }>(
  present: readonly P[],
  recorded: readonly string[],
): { joined: P[]; left: string[] } {
  const open = new Set(recorded);
  const joined: P[] = [];
  for (const p of present) {
    if (open.delete(p.identity)) continue;
    joined.push(p);
  }
  return { joined, left: [...open] };
}

export interface CallReconciliationDeps {
  store: Pick<CallStore, 'runningCalls' | 'openParticipants' | 'participantJoined' | 'participantLeft'>;
  calls: Pick<Calls, 'finish'>;
  livekitRooms: Pick<LivekitRooms, 'ensure' | 'forget'>;
  livekit: Pick<RoomServiceClient, 'listRooms' | 'listParticipants'>;
  identities: Pick<LivekitIdentities, 'usersOf'>;
  remoteMembers: Pick<RemoteMembers, 'sync' | 'present'>;
  audit: AuditSink;
  log: Logger;
}

export class CallReconciliation {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: CallReconciliationDeps) {}

  /** Checks every running call against LiveKit once. */
  async checkRunningCalls(): Promise<void> {
    const { deps } = this;
    const running = await deps.store.runningCalls();
    if (running.length === 0) return;
    const live = new Set((await deps.livekit.listRooms(running.map((c) => c.livekitRoom))).map((r) => r.name));
    for (const call of running) {
      // Members on other SFUs: their memberships may have expired without a word.
      await deps.remoteMembers.sync(call.roomId);
      if (live.has(call.livekitRoom)) {
        await this.recount(call);
        continue;
      }
      // People were connected when it vanished (LiveKit restarted): recreate it so their clients
      // reconnect. Nobody was: the call is over, and its end was missed — unless it goes on on
      // another deployment's SFU (it ends there when its last member leaves).
      const members = (await deps.store.openParticipants(call.callId)).filter((i) => !isRemoteParticipant(i));
      if (members.length === 0 && deps.remoteMembers.present(call.roomId)) continue;
      if (lostRoomAction(members.length) === 'recreate') {
        deps.livekitRooms.forget(call.livekitRoom);
        await deps.livekitRooms.ensure(call.livekitRoom, true);
        deps.log.warn('call_room_recreated', { room_id: call.roomId, call_id: call.callId, members: members.length });
        deps.audit.record({ action: 'call_room_recreated', roomId: call.roomId, detail: { call_id: call.callId } });
      } else {
        await deps.calls.finish(call.roomId, 'livekit_room_lost');
      }
    }
  }

  private async recount({ callId, roomId, livekitRoom: alias }: CallRow): Promise<void> {
    const { deps } = this;
    const present = await listParticipantsOrGone(deps.livekit, alias);
    const recorded = (await deps.store.openParticipants(callId)).filter((i) => !isRemoteParticipant(i));
    const { joined, left } = recount(present, recorded);
    const now = new Date();
    const users = await deps.identities.usersOf(
      alias,
      present.map((p) => p.identity),
    );
    for (const p of joined) {
      const userId = users.get(p.identity);
      await deps.store.participantJoined(callId, p.identity, userId, p.attributes['matrix_device_id'], now);
      deps.log.info('participant_recounted', { room_id: roomId, identity: p.identity, state: 'joined' });
    }
    for (const identity of left) {
      await deps.store.participantLeft(callId, identity, 'absent_at_check', now);
      deps.log.info('participant_recounted', { room_id: roomId, identity, state: 'left' });
    }
  }

  /** Checks running calls against LiveKit every `intervalMs`. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.checkRunningCalls().catch((err: unknown) => {
        this.deps.log.warn('call_check_failed', { error: (err as Error).message });
      });
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

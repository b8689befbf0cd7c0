/**
 * What LiveKit's verified webhooks mean for a room's call: a room started → the call is recorded; a
 * participant joined → its rights are checked again (revocation.ts), its delegated leave is kept
 * alive and it is counted in; a participant left → its delegated leave is sent, it is counted out
 * and its MatrixRTC membership watched for staleness; the room finished → the call ends with its
 * summary, unless members on another SFU are still in it. Rooms are known by their LiveKit name (alias), mapped back to the Matrix rooms we serve.
 */
import type { WebhookEvent } from 'livekit-server-sdk';

import { faultPoint } from '../core/faults.ts';
import { livekitRoomAlias } from '../core/livekit-names.ts';
import type { LivekitIdentities } from '../livekit/identities.ts';
import type { CallStore } from './call-store.ts';
import type { Calls } from './calls.ts';
import type { DelayedLeaves } from './delayed-leaves.ts';
import type { Revoker } from './revocation.ts';
import type { RoomStates } from './room-cache.ts';
import type { RemoteMembers } from './remote-members.ts';
import type { StaleMemberships } from './stale-memberships.ts';

export interface LivekitEventsDeps {
  rooms: Pick<RoomStates, 'roomIds'>;
  store: Pick<CallStore, 'start' | 'running' | 'participantJoined' | 'participantLeft'>;
  calls: Pick<Calls, 'finish' | 'announceStartedElsewhere'>;
  identities: Pick<LivekitIdentities, 'usersOf'>;
  revoker: Pick<Revoker, 'admit'>;
  delayedLeaves: Pick<DelayedLeaves, 'joined' | 'left'>;
  staleMemberships: Pick<StaleMemberships, 'watch'>;
  remoteMembers: Pick<RemoteMembers, 'present'>;
}

export class LivekitEvents {
  private readonly aliases = new Map<string, string>();

  constructor(private readonly deps: LivekitEventsDeps) {}

  /** The Matrix room behind a LiveKit room name, among the rooms we know. */
  roomForAlias(alias: string): string | undefined {
    const hit = this.aliases.get(alias);
    if (hit !== undefined) return hit;
    for (const id of this.deps.rooms.roomIds()) this.aliases.set(livekitRoomAlias(id), id);
    return this.aliases.get(alias);
  }

  /** A verified LiveKit webhook. */
  async onWebhook(event: WebhookEvent): Promise<void> {
    const { deps } = this;
    const alias = event.room?.name;
    if (alias === undefined || alias === '') return;
    const roomId = this.roomForAlias(alias);
    if (roomId === undefined) return;
    // Arrival time: LiveKit's createdAt has one-second precision, too coarse to order joins.
    const at = new Date();
    switch (event.event) {
      case 'room_started':
        await deps.store.start(roomId, alias, undefined, undefined);
        return;
      case 'participant_joined': {
        const p = event.participant;
        if (p === undefined) return;
        // Who it is comes from our record of the grant, never from its attributes. Rights first,
        // before any bookkeeping: a removed member reconnecting with a token LiveKit still honours
        // is out again at once, a demoted one loses publishing again.
        const userId = (await deps.identities.usersOf(alias, [p.identity])).get(p.identity);
        if ((await deps.revoker.admit(roomId, p, userId)) === 'removed') return;
        await deps.delayedLeaves.joined(alias, p.identity, p.sid);
        const { call } = await deps.store.start(roomId, alias, userId, undefined);
        faultPoint('webhook_participant_joined');
        await deps.store.participantJoined(call.callId, p.identity, userId, p.attributes['matrix_device_id'], at);
        // A call started from Element Call or Element X gets the same start notice as `!call`.
        if (userId !== undefined) await deps.calls.announceStartedElsewhere(call, userId);
        return;
      }
      case 'participant_left':
      case 'participant_connection_aborted': {
        const p = event.participant;
        if (p === undefined) return;
        // A client that delegated its leave to us relies on it being sent now: before bookkeeping.
        await deps.delayedLeaves.left(alias, p.identity, p.sid);
        const running = await deps.store.running(roomId);
        if (running !== undefined) await deps.store.participantLeft(running.callId, p.identity, event.event, at);
        deps.staleMemberships.watch(roomId, alias, p.identity);
        return;
      }
      case 'room_finished':
        // Members publishing on another deployment's SFU are still in the call: it goes on there
        // (it ends when the last of them leaves, remote-members.ts).
        if (deps.remoteMembers.present(roomId)) return;
        await deps.calls.finish(roomId, 'room_finished');
        return;
      default:
        return;
    }
  }
}

/**
 * A room's call from start to end, assembled from its parts for the event handler, the webhook
 * route and the service's start and stop: `!call` commands (call-commands.ts), starting and
 * finishing a call (calls.ts), LiveKit's webhooks (livekit-events.ts), the periodic check of running
 * calls against LiveKit (call-reconciliation.ts) and the clearing of MatrixRTC memberships that
 * outlive their participant (stale-memberships.ts). It holds no logic of its own.
 */
import type { RoomServiceClient, WebhookEvent } from 'livekit-server-sdk';

import type { AuditSink } from '../core/audit-trail.ts';
import type { Logger } from '../core/log.ts';
import type { MatrixEvent } from '../core/matrix-events.ts';
import type { RoomChange } from '../core/room-model.ts';
import type { LivekitIdentities } from '../livekit/identities.ts';
import type { LivekitRooms } from '../livekit/rooms.ts';
import { CallCommands } from './call-commands.ts';
import { CallReconciliation } from './call-reconciliation.ts';
import type { CallStore } from './call-store.ts';
import { Calls } from './calls.ts';
import type { DelayedLeaves } from './delayed-leaves.ts';
import type { HomeserverClient } from './homeserver-client.ts';
import { LivekitEvents } from './livekit-events.ts';
import { RemoteMembers } from './remote-members.ts';
import type { Revoker } from './revocation.ts';
import type { RoomStates } from './room-cache.ts';
import { StaleMemberships } from './stale-memberships.ts';

export interface CallLifecycleDeps {
  botUserId: string;
  homeserver: Pick<HomeserverClient, 'sendEvent' | 'sendState'>;
  rooms: Pick<RoomStates, 'peek' | 'roomIds'>;
  calls: CallStore;
  livekitRooms: Pick<LivekitRooms, 'ensure' | 'forget'>;
  livekit: Pick<RoomServiceClient, 'deleteRoom' | 'listParticipants' | 'removeParticipant' | 'listRooms'> &
    Partial<Pick<RoomServiceClient, 'sendData'>>;
  identities: Pick<LivekitIdentities, 'usersOf'>;
  revoker: Pick<Revoker, 'admit'>;
  /** Homeservers whose users may start a call (normalised comparison through `serverListed`). */
  fullAccessServers: readonly string[];
  serverListed: (server: string, list: readonly string[]) => boolean;
  audit: AuditSink;
  log: Logger;
  delayedLeaves: Pick<DelayedLeaves, 'joined' | 'left'>;
  /** Where browsers load the widget from. */
  publicUrl: string;
  moderatorPowerLevel: number;
  staleGraceMs: number;
  /** A call held only on other SFUs ends this long after its last member left. */
  remoteEndGraceMs: number;
}

export class CallLifecycle {
  private readonly calls: Calls;
  private readonly commands: CallCommands;
  private readonly livekitEvents: LivekitEvents;
  private readonly reconciliation: CallReconciliation;
  private readonly staleMemberships: StaleMemberships;
  private readonly remoteMembers: RemoteMembers;

  private readonly log: Logger;

  constructor(deps: CallLifecycleDeps) {
    const { calls: store } = deps;
    this.log = deps.log;
    this.calls = new Calls({ ...deps, store });
    this.commands = new CallCommands({
      botUserId: deps.botUserId,
      rooms: deps.rooms,
      store,
      calls: this.calls,
      policy: deps,
      audit: deps.audit,
    });
    this.staleMemberships = new StaleMemberships({ ...deps, graceMs: deps.staleGraceMs });
    this.remoteMembers = new RemoteMembers({
      ...deps,
      store,
      calls: this.calls,
      endGraceMs: deps.remoteEndGraceMs,
    });
    this.livekitEvents = new LivekitEvents({
      ...deps,
      store,
      calls: this.calls,
      staleMemberships: this.staleMemberships,
      remoteMembers: this.remoteMembers,
    });
    this.reconciliation = new CallReconciliation({
      ...deps,
      store,
      calls: this.calls,
      remoteMembers: this.remoteMembers,
    });
  }

  /**
   * A room's state changed: members on other SFUs (MatrixRTC multi-SFU) are counted from their
   * memberships. In the background: a slow database or homeserver never holds up the transaction;
   * what fails is caught up by the periodic check.
   */
  onRoomChange(roomId: string, change: RoomChange): void {
    if (!this.remoteMembers.concerns(roomId, change)) return;
    this.remoteMembers.sync(roomId).catch((err: unknown) => {
      this.log.warn('remote_members_sync_failed', { room_id: roomId, error: (err as Error).message });
    });
  }

  /** Handles `!call …` messages. */
  onMessage(ev: MatrixEvent): Promise<void> {
    return this.commands.onMessage(ev);
  }

  /** A moderator ends the call from the widget (decided by the caller); false when none runs. */
  endCall(roomId: string, by: string): Promise<boolean> {
    return this.commands.endCall(roomId, by);
  }

  /** The bot is no longer in the room: its call ends. */
  onBotRemoved(roomId: string): Promise<void> {
    return this.calls.onBotRemoved(roomId);
  }

  /** A verified LiveKit webhook. */
  onWebhook(event: WebhookEvent): Promise<void> {
    return this.livekitEvents.onWebhook(event);
  }

  /** Checks running calls against LiveKit once. */
  checkRunningCalls(): Promise<void> {
    return this.reconciliation.checkRunningCalls();
  }

  /** Checks running calls against LiveKit every `intervalMs`. */
  startChecks(intervalMs: number): void {
    this.reconciliation.start(intervalMs);
  }

  stop(): void {
    this.reconciliation.stop();
    this.staleMemberships.stop();
    this.remoteMembers.stop();
  }
}

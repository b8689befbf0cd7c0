/**
 * A room's call from start to end. `!call` (or a client joining through Element Call) starts it:
 * the call widget is written as room state so every client, federated ones included, shows "Join";
 * the call is recorded and announced. LiveKit webhooks track who is in it; when LiveKit finishes the
 * room, the call ends with a notice of its duration and participants. A MatrixRTC membership that
 * outlives its LiveKit participant (a closed tab) is removed after a grace period.
 */
import type { RoomServiceClient, WebhookEvent } from 'livekit-server-sdk';

import type { AuditSink } from '../core/audit-trail.ts';
import { faultPoint } from '../core/faults.ts';
import { classifyLivekitError, listParticipantsOrGone, LivekitUnavailableError } from '../livekit/errors.ts';
import type { LivekitIdentities } from '../livekit/identities.ts';
import { livekitRoomAlias } from '../core/livekit-names.ts';
import type { LivekitRooms } from '../livekit/rooms.ts';
import type { Logger } from '../core/log.ts';
import { serverOfUserId } from '../core/matrix-ids.ts';
import type { CallStore } from './call-store.ts';
import type { DelayedLeaves } from './delayed-leaves.ts';
import type { Revoker } from './revocation.ts';
import { HomeserverError, type HomeserverClient } from './homeserver-client.ts';
import { messageBody, type MatrixEvent } from '../core/matrix-events.ts';
import { formatDuration, notices, parseCommand, type NamedUser } from './notices.ts';
import { powerOf, type CallRoomView } from '../core/room-model.ts';
import type { RoomStates } from './room-cache.ts';
import { CALL_MEMBER_EVENT } from '../core/rtc-membership.ts';

export const WIDGET_EVENT = 'im.vector.modular.widgets';
export const WIDGET_ID = 'causerie_call';

export interface CallLifecycleDeps {
  botUserId: string;
  homeserver: Pick<HomeserverClient, 'sendEvent' | 'sendState'>;
  rooms: Pick<RoomStates, 'peek' | 'roomIds'>;
  calls: CallStore;
  livekitRooms: Pick<LivekitRooms, 'ensure' | 'forget'>;
  livekit: Pick<RoomServiceClient, 'deleteRoom' | 'listParticipants' | 'removeParticipant' | 'listRooms'>;
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
}

/** The widget URL with the template variables Matrix clients fill in. */
export function widgetUrl(publicUrl: string): string {
  const params = [
    'roomId=$matrix_room_id',
    'userId=$matrix_user_id',
    'displayName=$matrix_display_name',
    'lang=$org.matrix.msc2873.client_language',
    'theme=$org.matrix.msc2873.client_theme',
    'deviceId=$org.matrix.msc3819.matrix_device_id',
    'baseUrl=$org.matrix.msc4039.matrix_base_url',
    'widgetId=$matrix_widget_id',
  ];
  return `${publicUrl.replace(/\/+$/, '')}/widget/?${params.join('&')}`;
}

const named = (room: CallRoomView | undefined, userId: string): NamedUser => ({
  userId,
  displayName: room?.members.get(userId)?.displayname,
});

const trimSlashes = (url: string): string => {
  let end = url.length;
  while (end > 0 && url[end - 1] === '/') end--;
  return url.slice(0, end);
};

export class CallLifecycle {
  private readonly aliases = new Map<string, string>();
  private readonly staleTimers = new Set<NodeJS.Timeout>();
  private checkTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: CallLifecycleDeps) {}

  /** The Matrix room behind a LiveKit room name, among the rooms we know. */
  roomForAlias(alias: string): string | undefined {
    const hit = this.aliases.get(alias);
    if (hit !== undefined) return hit;
    for (const id of this.deps.rooms.roomIds()) this.aliases.set(livekitRoomAlias(id), id);
    return this.aliases.get(alias);
  }

  private notice(roomId: string, txnId: string, body: string): Promise<string> {
    // Explicitly mentions nobody: a display name quoted in a notice must not ping anyone or @room.
    return this.deps.homeserver.sendEvent(roomId, 'm.room.message', txnId, {
      msgtype: 'm.notice',
      body,
      'm.mentions': {},
    });
  }

  /** Whether this user's homeserver may start calls on our SFU. */
  mayStart(userId: string): boolean {
    const server = serverOfUserId(userId);
    return server !== undefined && this.deps.serverListed(server, this.deps.fullAccessServers);
  }

  /** Handles `!call …` messages. */
  async onMessage(ev: MatrixEvent): Promise<void> {
    const { deps } = this;
    if (ev.room_id === undefined || ev.sender === deps.botUserId || ev.event_id === undefined) return;
    const body = messageBody(ev.content);
    if (body === undefined) return;
    const command = parseCommand(body);
    if (command === undefined) return;
    const roomId = ev.room_id;
    const reply = `causerie-reply-${ev.event_id}`;
    switch (command.kind) {
      case 'help':
        await this.notice(roomId, reply, notices.help());
        return;
      case 'unknown':
        await this.notice(roomId, reply, notices.unknown(command.word));
        return;
      case 'start':
        if (!this.mayStart(ev.sender)) {
          // Our SFU serves calls started by our own users; partners join them.
          const running = await deps.calls.running(roomId);
          await this.notice(
            roomId,
            reply,
            running === undefined
              ? notices.notAllowedToStart(deps.fullAccessServers)
              : notices.alreadyRunning(running.startedAt),
          );
          return;
        }
        await this.start(roomId, ev.sender, ev.event_id);
        return;
      case 'end': {
        const room = deps.rooms.peek(roomId);
        if (room === undefined || powerOf(room, ev.sender) < deps.moderatorPowerLevel) {
          await this.notice(roomId, reply, notices.notAllowedToEnd(deps.moderatorPowerLevel));
          return;
        }
        const running = await deps.calls.running(roomId);
        if (running === undefined) {
          // A re-sent `!call end` whose first run ended the call but crashed before the summary.
          if ((await deps.calls.endedWithoutSummary(roomId)) !== undefined)
            await this.finish(roomId, 'ended_by_moderator');
          else await this.notice(roomId, reply, notices.noCall());
          return;
        }
        // Closing the LiveKit room disconnects everyone; its room_finished webhook ends the call.
        await deps.livekit.deleteRoom(running.livekitRoom).catch((err: unknown) => {
          const kind = classifyLivekitError(err);
          // Could not ask: held and retried like any transient failure, not dropped.
          if (kind !== 'not_found') throw new LivekitUnavailableError(kind, 'deleteRoom', { cause: err });
        });
        await this.finish(roomId, 'ended_by_moderator');
        deps.audit.record({ action: 'call_ended', roomId, userId: ev.sender, detail: { call_id: running.callId } });
        return;
      }
    }
  }

  /**
   * The bot was kicked or banned from the room (or left): nobody can be removed from its call any
   * more, so the call ends — its LiveKit room is closed (everyone disconnected) and it is recorded
   * as ended. No notice: the bot may no longer post there.
   */
  async onBotRemoved(roomId: string): Promise<void> {
    const { deps } = this;
    const running = await deps.calls.running(roomId);
    if (running === undefined) return;
    await deps.livekit.deleteRoom(running.livekitRoom).catch((err: unknown) => {
      const kind = classifyLivekitError(err);
      if (kind !== 'not_found') throw new LivekitUnavailableError(kind, 'deleteRoom', { cause: err });
    });
    deps.livekitRooms.forget(running.livekitRoom);
    await deps.calls.end(roomId, 'bot_removed');
    await deps.calls.summaryPosted(running.callId);
    deps.audit.record({ action: 'call_ended', roomId, detail: { call_id: running.callId, reason: 'bot_removed' } });
    deps.log.info('call_ended', { room_id: roomId, call_id: running.callId, reason: 'bot_removed' });
  }

  /** Starts the room's call (idempotent per command event). */
  async start(roomId: string, by: string, commandEventId: string): Promise<void> {
    const { deps } = this;
    const alias = livekitRoomAlias(roomId);
    const { call, created, resumed } = await deps.calls.start(roomId, alias, by, commandEventId);
    const reply = `causerie-reply-${commandEventId}`;
    faultPoint('call_recorded_before_announce');
    if (!created && !resumed) {
      await this.notice(roomId, reply, notices.alreadyRunning(call.startedAt));
      return;
    }
    await deps.livekitRooms.ensure(alias, true);
    await this.writeWidget(roomId, `causerie-widget-power-${commandEventId}`);
    const room = deps.rooms.peek(roomId);
    await this.notice(roomId, reply, notices.started(named(room, by)));
    deps.audit.record({
      action: 'call_started',
      roomId,
      userId: by,
      detail: { call_id: call.callId, livekit_room: alias },
    });
    deps.log.info('call_started', { room_id: roomId, call_id: call.callId, user_id: by });
  }

  private async writeWidget(roomId: string, powerNoticeTxn: string): Promise<void> {
    const { deps } = this;
    try {
      await deps.homeserver.sendState(roomId, WIDGET_EVENT, WIDGET_ID, {
        type: 'm.custom',
        url: widgetUrl(deps.publicUrl),
        name: 'Causerie',
        data: { roomId, title: 'Causerie' },
        creatorUserId: deps.botUserId,
        id: WIDGET_ID,
      });
    } catch (err) {
      if (!(err instanceof HomeserverError && err.status === 403)) throw err;
      const room = deps.rooms.peek(roomId);
      const needed = room?.powerLevels.events[WIDGET_EVENT] ?? room?.powerLevels.state_default ?? 50;
      await this.notice(roomId, powerNoticeTxn, notices.needPowerForWidget(needed));
    }
  }

  /**
   * Marks the running call ended and posts its summary, once — also when a crash came between the
   * two (the re-sent transaction finds the call ended without its summary).
   */
  private async finish(roomId: string, reason: string): Promise<void> {
    const ended = (await this.deps.calls.end(roomId, reason)) ?? (await this.deps.calls.endedWithoutSummary(roomId));
    if (ended === undefined) return;
    faultPoint('call_ended_before_summary');
    this.deps.livekitRooms.forget(ended.livekitRoom);
    const room = this.deps.rooms.peek(roomId);
    const names = (await this.deps.calls.participantUsers(ended.callId)).map((u) => named(room, u));
    await this.notice(
      roomId,
      `causerie-ended-${ended.callId}`,
      notices.ended(formatDuration(ended.endedAt.getTime() - ended.startedAt.getTime()), names),
    );
    await this.deps.calls.summaryPosted(ended.callId);
    this.deps.log.info('call_ended', { room_id: roomId, call_id: ended.callId, reason, participants: names.length });
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
        await deps.calls.start(roomId, alias, undefined, undefined);
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
        const { call } = await deps.calls.start(roomId, alias, userId, undefined);
        faultPoint('webhook_participant_joined');
        await deps.calls.participantJoined(call.callId, p.identity, userId, p.attributes['matrix_device_id'], at);
        return;
      }
      case 'participant_left':
      case 'participant_connection_aborted': {
        const p = event.participant;
        if (p === undefined) return;
        // A client that delegated its leave to us relies on it being sent now: before bookkeeping.
        await deps.delayedLeaves.left(alias, p.identity, p.sid);
        const running = await deps.calls.running(roomId);
        if (running !== undefined) await deps.calls.participantLeft(running.callId, p.identity, event.event, at);
        this.scheduleStaleCheck(roomId, alias, p.identity);
        return;
      }
      case 'room_finished':
        await this.finish(roomId, 'room_finished');
        return;
      default:
        return;
    }
  }

  /** After the grace period, removes a MatrixRTC membership whose participant did not come back. */
  private scheduleStaleCheck(roomId: string, alias: string, identity: string): void {
    const timer = setTimeout(() => {
      this.staleTimers.delete(timer);
      this.removeStale(roomId, alias, identity).catch((err: unknown) => {
        this.deps.log.warn('stale_membership_cleanup_failed', {
          room_id: roomId,
          identity,
          error: (err as Error).message,
        });
      });
    }, this.deps.staleGraceMs);
    timer.unref();
    this.staleTimers.add(timer);
  }

  async removeStale(roomId: string, alias: string, identity: string): Promise<void> {
    const { deps } = this;
    const room = deps.rooms.peek(roomId);
    if (room === undefined) return;
    const stale = [...room.rtc.values()].flat().find((m) => m.livekitIdentity === identity);
    // Only per-device state keys can be cleared by writing `{}`; the participant must still be gone;
    // and the membership must name our SFU (one on its own SFU may well still be in the call there).
    if (stale === undefined || stale.stateKey.startsWith('rtc:') || stale.stateKey === stale.userId) return;
    if (stale.livekitServiceUrl !== undefined && trimSlashes(stale.livekitServiceUrl) !== trimSlashes(deps.publicUrl))
      return;
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

  /**
   * Running calls whose LiveKit room is gone though LiveKit answers (it restarted and lost its
   * rooms, or its room_finished webhook never reached us): recreated when participants were still
   * connected (their clients reconnect), else ended with the summary. Calls whose room exists get
   * their participants recounted.
   */
  async checkRunningCalls(): Promise<void> {
    const { deps } = this;
    const running = await deps.calls.runningCalls();
    if (running.length === 0) return;
    const live = new Set((await deps.livekit.listRooms(running.map((c) => c.livekitRoom))).map((r) => r.name));
    for (const call of running) {
      if (live.has(call.livekitRoom)) {
        await this.recount(call.callId, call.roomId, call.livekitRoom);
        continue;
      }
      // People were connected when it vanished (LiveKit restarted): recreate it so their clients
      // reconnect. Nobody was: the call is over, and its end was missed.
      const members = await deps.calls.openParticipants(call.callId);
      if (members.length > 0) {
        deps.livekitRooms.forget(call.livekitRoom);
        await deps.livekitRooms.ensure(call.livekitRoom, true);
        deps.log.warn('call_room_recreated', { room_id: call.roomId, call_id: call.callId, members: members.length });
        deps.audit.record({ action: 'call_room_recreated', roomId: call.roomId, detail: { call_id: call.callId } });
      } else {
        await this.finish(call.roomId, 'livekit_room_lost');
      }
    }
  }

  /**
   * Brings a running call's participant rows in line with LiveKit (a webhook lost while we were
   * down): present but unrecorded → joined; recorded but absent → left.
   */
  private async recount(callId: number, roomId: string, alias: string): Promise<void> {
    const { deps } = this;
    const present = await listParticipantsOrGone(deps.livekit, alias);
    const open = new Set(await deps.calls.openParticipants(callId));
    const now = new Date();
    const users = await deps.identities.usersOf(
      alias,
      present.map((p) => p.identity),
    );
    for (const p of present) {
      if (open.delete(p.identity)) continue;
      const userId = users.get(p.identity);
      await deps.calls.participantJoined(callId, p.identity, userId, p.attributes['matrix_device_id'], now);
      deps.log.info('participant_recounted', { room_id: roomId, identity: p.identity, state: 'joined' });
    }
    for (const identity of open) {
      await deps.calls.participantLeft(callId, identity, 'absent_at_check', now);
      deps.log.info('participant_recounted', { room_id: roomId, identity, state: 'left' });
    }
  }

  /** Checks running calls against LiveKit every `intervalMs`. */
  startChecks(intervalMs: number): void {
    this.checkTimer = setInterval(() => {
      this.checkRunningCalls().catch((err: unknown) => {
        this.deps.log.warn('call_check_failed', { error: (err as Error).message });
      });
    }, intervalMs);
    this.checkTimer.unref();
  }

  stop(): void {
    clearInterval(this.checkTimer);
    for (const t of this.staleTimers) clearTimeout(t);
    this.staleTimers.clear();
  }
}

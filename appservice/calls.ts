/**
 * Starting and finishing a room's call: what `!call` and LiveKit's events share. Starting opens the
 * LiveKit room, writes the call widget as room state (so every client, federated ones included,
 * shows "Join") and announces the call; finishing records its end and posts its duration and
 * participants, once. The bot removed from a room ends the room's call without a word.
 */
import { DataPacket_Kind, type RoomServiceClient } from 'livekit-server-sdk';

import type { AuditSink } from '../core/audit-trail.ts';
import { faultPoint } from '../core/faults.ts';
import { livekitRoomAlias } from '../core/livekit-names.ts';
import type { CallEndedWire } from '../core/token-wire.ts';
import type { Logger } from '../core/log.ts';
import type { CallRoomView } from '../core/room-model.ts';
import { classifyLivekitError, LivekitUnavailableError } from '../livekit/errors.ts';
import type { LivekitRooms } from '../livekit/rooms.ts';
import type { CallRow, CallStore } from './call-store.ts';
import { HomeserverError, type HomeserverClient } from './homeserver-client.ts';
import { formatDuration, notices, type NamedUser } from './notices.ts';
import type { RoomStates } from './room-cache.ts';

/** LiveKit data topic of the service's messages into a call (core/token-wire.ts CallEndedWire). */
export const CALL_CONTROL_TOPIC = 'io.causerie.call';
const CALL_ENDED_GRACE_MS = 200;

export const WIDGET_EVENT = 'im.vector.modular.widgets';
export const WIDGET_ID = 'causerie_call';

export interface CallsDeps {
  botUserId: string;
  homeserver: Pick<HomeserverClient, 'sendEvent' | 'sendState'>;
  rooms: Pick<RoomStates, 'peek'>;
  store: Pick<CallStore, 'start' | 'running' | 'end' | 'endedWithoutSummary' | 'summaryPosted' | 'participantUsers'>;
  livekitRooms: Pick<LivekitRooms, 'ensure' | 'forget'>;
  livekit: Pick<RoomServiceClient, 'deleteRoom'> & Partial<Pick<RoomServiceClient, 'sendData'>>;
  audit: AuditSink;
  log: Logger;
  /** Where browsers load the widget from. */
  publicUrl: string;
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

export class Calls {
  /** Calls started elsewhere already announced by this instance (the homeserver dedupes the rest). */
  private readonly announced = new Set<number>();

  constructor(private readonly deps: CallsDeps) {}

  notice(roomId: string, txnId: string, body: string): Promise<string> {
    // Explicitly mentions nobody: a display name quoted in a notice must not ping anyone or @room.
    return this.deps.homeserver.sendEvent(roomId, 'm.room.message', txnId, {
      msgtype: 'm.notice',
      body,
      'm.mentions': {},
    });
  }

  /**
   * Announces a call that a client started by joining LiveKit directly (Element Call, Element X: no
   * `!call`), naming the first participant we know — once: the notice's transaction id is the
   * call's, so the homeserver keeps a repeat (another participant, a re-sent webhook) to one event.
   */
  async announceStartedElsewhere(call: CallRow, by: string): Promise<void> {
    if (call.startEventId !== undefined || this.announced.has(call.callId)) return;
    const room = this.deps.rooms.peek(call.roomId);
    await this.notice(call.roomId, `causerie-started-call-${String(call.callId)}`, notices.started(named(room, by)));
    this.announced.add(call.callId);
    if (this.announced.size > 10_000) this.announced.delete(this.announced.values().next().value ?? 0);
    this.deps.audit.record({
      action: 'call_started',
      roomId: call.roomId,
      userId: by,
      detail: { call_id: call.callId, livekit_room: call.livekitRoom, by: 'livekit' },
    });
    this.deps.log.info('call_started', { room_id: call.roomId, call_id: call.callId, user_id: by, by: 'livekit' });
  }

  /** Starts the room's call (idempotent per command event). */
  async start(roomId: string, by: string, commandEventId: string): Promise<void> {
    const { deps } = this;
    const alias = livekitRoomAlias(roomId);
    const { call, created, resumed } = await deps.store.start(roomId, alias, by, commandEventId);
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
  async finish(roomId: string, reason: string): Promise<void> {
    const { deps } = this;
    const ended = (await deps.store.end(roomId, reason)) ?? (await deps.store.endedWithoutSummary(roomId));
    if (ended === undefined) return;
    faultPoint('call_ended_before_summary');
    deps.livekitRooms.forget(ended.livekitRoom);
    const room = deps.rooms.peek(roomId);
    const names = (await deps.store.participantUsers(ended.callId)).map((u) => named(room, u));
    await this.notice(
      roomId,
      `causerie-ended-${ended.callId}`,
      notices.ended(formatDuration(ended.endedAt.getTime() - ended.startedAt.getTime()), names),
    );
    await deps.store.summaryPosted(ended.callId);
    deps.log.info('call_ended', { room_id: roomId, call_id: ended.callId, reason, participants: names.length });
  }

  /**
   * Closes a call's LiveKit room, which disconnects everyone; a room LiveKit does not know is closed
   * already. LiveKit unreachable throws LivekitUnavailableError: the caller is held and retried like
   * any transient failure, never dropped.
   */
  /**
   * Closes a call's LiveKit room, first telling everyone in it that the call is ending and who
   * ended it (best effort: they are disconnected either way), so that they see "The call has ended"
   * rather than a lost connection.
   */
  async closeLivekitRoom(alias: string, endedBy?: string): Promise<void> {
    const message: CallEndedWire = endedBy === undefined ? { ended: true } : { ended: true, by: endedBy };
    const told = await this.deps.livekit
      .sendData?.(alias, new TextEncoder().encode(JSON.stringify(message)), DataPacket_Kind.RELIABLE, {
        topic: CALL_CONTROL_TOPIC,
      })
      .then(
        () => true,
        () => false,
      );
    // Give the message a moment to reach the participants before their connections close.
    if (told === true) await new Promise((resolve) => setTimeout(resolve, CALL_ENDED_GRACE_MS));
    await this.deps.livekit.deleteRoom(alias).catch((err: unknown) => {
      const kind = classifyLivekitError(err);
      if (kind !== 'not_found') throw new LivekitUnavailableError(kind, 'deleteRoom', { cause: err });
    });
  }

  /**
   * The bot was kicked or banned from the room (or left): nobody can be removed from its call any
   * more, so the call ends — its LiveKit room is closed (everyone disconnected) and it is recorded
   * as ended. No notice: the bot may no longer post there.
   */
  async onBotRemoved(roomId: string): Promise<void> {
    const { deps } = this;
    const running = await deps.store.running(roomId);
    if (running === undefined) return;
    await this.closeLivekitRoom(running.livekitRoom);
    deps.livekitRooms.forget(running.livekitRoom);
    await deps.store.end(roomId, 'bot_removed');
    await deps.store.summaryPosted(running.callId);
    deps.audit.record({ action: 'call_ended', roomId, detail: { call_id: running.callId, reason: 'bot_removed' } });
    deps.log.info('call_ended', { room_id: roomId, call_id: running.callId, reason: 'bot_removed' });
  }
}

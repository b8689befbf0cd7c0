/**
 * The test host's side of the widget API, as Element Web's: a user who approves every capability,
 * and a real matrix-js-sdk client behind each action (events, delayed events, to-device messages,
 * OpenID tokens, room state and timeline, media, MatrixRTC transports). Room state and timeline come
 * from the client's synced view; a room it has not joined is asked of the homeserver.
 */
import { Direction, EventTimeline, Method, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import {
  OpenIDRequestState,
  WidgetDriver,
  type Capability,
  type IOpenIDUpdate,
  type IRoomEvent,
  type IRtcTransportsResult,
  type ISendDelayedEventDetails,
  type ISendEventDetails,
  type SimpleObservable,
} from 'matrix-widget-api';

const raw = (ev: MatrixEvent): IRoomEvent => ev.getEffectiveEvent() as unknown as IRoomEvent;

export class HostDriver extends WidgetDriver {
  constructor(
    private readonly client: MatrixClient,
    private readonly roomId: string,
    /** Capabilities the user refuses (by prefix, e.g. `org.matrix.msc3819`: to-device messages). */
    private readonly deny: readonly string[] = [],
  ) {
    super();
  }

  override validateCapabilities(requested: Set<Capability>): Promise<Set<Capability>> {
    // A test host: the user approves everything the widget asks for, but what the test denies.
    return Promise.resolve(new Set([...requested].filter((c) => !this.deny.some((d) => c.startsWith(d)))));
  }

  override async sendEvent(
    eventType: string,
    content: unknown,
    stateKey?: string | null,
    roomId?: string | null,
  ): Promise<ISendEventDetails> {
    const room = roomId ?? this.roomId;
    if (eventType === 'm.room.redaction' && (stateKey === undefined || stateKey === null)) {
      // As Element Web does: a redaction goes through the redact endpoint, whatever the room version.
      const redacts = (content as { redacts?: unknown }).redacts;
      if (typeof redacts !== 'string') throw new Error('a redaction names the event it redacts');
      return { roomId: room, eventId: (await this.client.redactEvent(room, redacts)).event_id };
    }
    const res =
      stateKey === undefined || stateKey === null
        ? await this.client.sendEvent(room, eventType as never, content as never)
        : await this.client.sendStateEvent(room, eventType as never, content as never, stateKey);
    return { roomId: room, eventId: res.event_id };
  }

  override async sendDelayedEvent(
    delay: number,
    eventType: string,
    content: unknown,
    stateKey?: string | null,
    roomId?: string | null,
  ): Promise<ISendDelayedEventDetails> {
    const room = roomId ?? this.roomId;
    const res =
      stateKey === undefined || stateKey === null
        ? await this.client._unstable_sendDelayedEvent(room, { delay }, null, eventType as never, content as never)
        : await this.client._unstable_sendDelayedStateEvent(
            room,
            { delay },
            eventType as never,
            content as never,
            stateKey,
          );
    return { roomId: room, delayId: res.delay_id };
  }

  override async cancelScheduledDelayedEvent(delayId: string): Promise<void> {
    await this.client._unstable_cancelScheduledDelayedEvent(delayId);
  }

  override async restartScheduledDelayedEvent(delayId: string): Promise<void> {
    await this.client._unstable_restartScheduledDelayedEvent(delayId);
  }

  override async sendScheduledDelayedEvent(delayId: string): Promise<void> {
    await this.client._unstable_sendScheduledDelayedEvent(delayId);
  }

  /**
   * To-device messages, as Element Web sends them: encrypted ones through the client's Rust crypto
   * (Olm, one encryption per payload), so only `m.room.encrypted` leaves the client; `*` means
   * every device of the user the crypto layer knows.
   */
  override async sendToDevice(
    eventType: string,
    encrypted: boolean,
    contentMap: Record<string, Record<string, object>>,
  ): Promise<void> {
    if (!encrypted) {
      const batch = Object.entries(contentMap).flatMap(([userId, devices]) =>
        Object.entries(devices).map(([deviceId, payload]) => ({ userId, deviceId, payload })),
      );
      await this.client.queueToDevice({ eventType, batch });
      return;
    }
    const crypto = this.client.getCrypto();
    if (crypto === undefined) throw new Error('this host has no end-to-end encryption');
    const byPayload = new Map<string, { payload: object; devices: { userId: string; deviceId: string }[] }>();
    for (const [userId, devices] of Object.entries(contentMap)) {
      for (const [deviceId, payload] of Object.entries(devices)) {
        const key = JSON.stringify(payload);
        const entry = byPayload.get(key) ?? { payload, devices: [] };
        if (deviceId === '*') {
          const known = (await crypto.getUserDeviceInfo([userId], true)).get(userId);
          for (const id of known?.keys() ?? []) entry.devices.push({ userId, deviceId: id });
        } else entry.devices.push({ userId, deviceId });
        byPayload.set(key, entry);
      }
    }
    for (const { payload, devices } of byPayload.values()) {
      const batch = await crypto.encryptToDeviceMessages(eventType, devices, payload);
      await this.client.queueToDevice(batch);
    }
  }

  override async readRoomState(roomId: string, eventType: string, stateKey: string | undefined): Promise<IRoomEvent[]> {
    const room = this.client.getRoom(roomId);
    if (room !== null) {
      // Members are lazy-loaded: all of them before answering about members, as Element Web does.
      if (eventType === 'm.room.member') await room.loadMembersIfNeeded();
      const state = room.getLiveTimeline().getState(EventTimeline.FORWARDS);
      if (state === undefined) return [];
      const events =
        stateKey === undefined
          ? state.getStateEvents(eventType)
          : [state.getStateEvents(eventType, stateKey)].filter((e) => e !== null);
      return events.map(raw);
    }
    const events = await this.client.roomState(roomId);
    return events.filter(
      (e) => e.type === eventType && (stateKey === undefined || e.state_key === stateKey),
    ) as unknown as IRoomEvent[];
  }

  override readStateEvents(
    eventType: string,
    stateKey: string | undefined,
    _limit: number,
    roomIds?: string[] | null,
  ): Promise<IRoomEvent[]> {
    return this.readRoomState(roomIds?.[0] ?? this.roomId, eventType, stateKey);
  }

  /**
   * Newest first, from the client's live timeline, as Element Web reads them: a widget that takes
   * pushed state (`update_state`) gets only what the timeline holds here, state events included.
   */
  override readRoomTimeline(
    roomId: string,
    eventType: string,
    msgtype: string | undefined,
    stateKey: string | undefined,
    limit: number,
    since: string | undefined,
  ): Promise<IRoomEvent[]> {
    const events = this.client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
    const out: IRoomEvent[] = [];
    for (let i = events.length - 1; i >= 0 && out.length < limit; i--) {
      const ev = events[i];
      if (ev === undefined) continue;
      if (since !== undefined && ev.getId() === since) break;
      if (ev.getType() !== eventType || ev.isBeingDecrypted() || ev.isDecryptionFailure()) continue;
      if (stateKey !== undefined && ev.getStateKey() !== stateKey) continue;
      if (msgtype !== undefined && ev.getContent().msgtype !== msgtype) continue;
      out.push(raw(ev));
    }
    return Promise.resolve(out);
  }

  override readStickyEvents(roomId: string): Promise<IRoomEvent[]> {
    const room = this.client.getRoom(roomId);
    return Promise.resolve(room === null ? [] : [...room._unstable_getStickyEvents()].map(raw));
  }

  override async readEventRelations(
    eventId: string,
    roomId?: string,
    relationType?: string,
    eventType?: string,
    from?: string,
    to?: string,
    limit?: number,
    direction?: 'f' | 'b',
  ): Promise<{ chunk: IRoomEvent[]; nextBatch?: string; prevBatch?: string }> {
    const res = await this.client.relations(roomId ?? this.roomId, eventId, relationType ?? null, eventType ?? null, {
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...(limit === undefined ? {} : { limit }),
      dir: direction === 'f' ? Direction.Forward : Direction.Backward,
    });
    return {
      chunk: res.events.map(raw),
      ...(res.nextBatch == null ? {} : { nextBatch: res.nextBatch }),
      ...(res.prevBatch == null ? {} : { prevBatch: res.prevBatch }),
    };
  }

  /** Media needs the user's authentication, which the widget does not have (MSC4039). */
  override async downloadFile(contentUri: string): Promise<{ file: XMLHttpRequestBodyInit }> {
    const url = this.client.mxcUrlToHttp(contentUri, undefined, undefined, undefined, false, true, true);
    if (url === null) throw new Error('not an mxc URI');
    const res = await fetch(url, { headers: { authorization: `Bearer ${this.client.getAccessToken() ?? ''}` } });
    if (!res.ok) throw new Error(`media download answered ${res.status}`);
    return { file: await res.blob() };
  }

  /** The SFU services the user's homeserver advertises (MSC4143), as Element Web asks for them. */
  override async getRtcTransports(): Promise<IRtcTransportsResult> {
    const res = await this.client.http.authedRequest<{ rtc_transports?: IRtcTransportsResult['rtc_transports'] }>(
      Method.Get,
      '/org.matrix.msc4143/rtc/transports',
      undefined,
      undefined,
      { prefix: '/_matrix/client/unstable' },
    );
    return { rtc_transports: res.rtc_transports ?? [] };
  }

  override getKnownRooms(): string[] {
    return [this.roomId];
  }

  override askOpenID(observer: SimpleObservable<IOpenIDUpdate>): void {
    this.client.getOpenIdToken().then(
      (token) => {
        observer.update({ state: OpenIDRequestState.Allowed, token });
      },
      () => {
        observer.update({ state: OpenIDRequestState.Blocked });
      },
    );
  }
}

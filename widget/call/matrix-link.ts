/**
 * What the call needs from Matrix, whichever way the widget runs: who we are, an OpenID token from
 * our homeserver, and writing our MatrixRTC membership (with a delayed leave where supported).
 * WidgetLink speaks matrix-widget-api to the host client (Element, Tchap, the test host page).
 */
import { MatrixCapabilities, WidgetApi, type IWidgetApiRequest } from 'matrix-widget-api';

import { CALL_REACTION_EVENT, RINGING_EVENTS } from '../core/call-events.ts';
import { CallError } from '../core/errors.ts';
import { CallMembers, type CallMember } from '../core/call-members.ts';
import { ENCRYPTION_KEYS_EVENT } from '../core/call-events.ts';
import type { KeysContent, ToDeviceMessage } from '../core/media-keys.ts';
import { CALL_MEMBER_EVENT } from '../core/membership.ts';
import type { RoomFacts } from '../core/moderation.ts';
import type { RoomEvents } from './room-signals.ts';

export interface OpenIdToken {
  access_token: string;
  token_type: string;
  matrix_server_name: string;
  expires_in: number;
}

export interface MemberInfo {
  displayname: string | undefined;
  /** mxc:// URI of the member's avatar, if any. */
  avatarUrl: string | undefined;
}

/** Room members from member state events or a members list, by user id. */
export function membersFrom(events: readonly { state_key?: unknown; content?: unknown }[]): Map<string, MemberInfo> {
  const out = new Map<string, MemberInfo>();
  for (const ev of events) {
    const c = (ev.content ?? {}) as Record<string, unknown>;
    if (typeof ev.state_key !== 'string' || c['membership'] !== 'join') continue;
    out.set(ev.state_key, {
      displayname: typeof c['displayname'] === 'string' ? c['displayname'] : undefined,
      avatarUrl:
        typeof c['avatar_url'] === 'string' && c['avatar_url'].startsWith('mxc://') ? c['avatar_url'] : undefined,
    });
  }
  return out;
}

/** A room name as people should see it: a string, bounded, without control characters; else none. */
export function roomNameFrom(content: unknown): string | undefined {
  const name = (content as { name?: unknown } | null | undefined)?.name;
  if (typeof name !== 'string') return undefined;
  const clean = name
    .replace(/\p{Cc}/gu, '')
    .trim()
    .slice(0, 255);
  return clean === '' ? undefined : clean;
}

export interface MatrixLink {
  /** Whether the room's state has `m.room.encryption` (its calls must be end-to-end encrypted). */
  roomEncrypted(): Promise<boolean>;
  readonly userId: string;
  readonly deviceId: string;
  readonly roomId: string;
  /** Joined members of the room, for names and avatars. */
  members(): Promise<Map<string, MemberInfo>>;
  /** The room's name (`m.room.name`), when it has one and we may read it. */
  roomName?(): Promise<string | undefined>;
  /** An object URL for an mxc:// image, or undefined when it cannot be had. */
  avatar(mxc: string): Promise<string | undefined>;
  openIdToken(): Promise<OpenIdToken>;
  /** Writes our membership; resolves to its event id when known. */
  sendMembership(stateKey: string, content: Record<string, unknown>): Promise<string | undefined>;
  /** Schedules `{}` at stateKey after delayMs (MSC4140); undefined when the host cannot. */
  scheduleLeave(stateKey: string, delayMs: number): Promise<string | undefined>;
  restartLeave(delayId: string): Promise<void>;
  cancelLeave(delayId: string): Promise<void>;
  /** The client hosting the call (Element Web's call-app actions); absent when standalone. */
  readonly host?: CallHost;
  /** Room events through the host (Element Call's hands and reactions); absent when standalone. */
  readonly roomEvents?: RoomEvents;
  /** The room's power levels and create event as last seen (moderation buttons); absent when unknown. */
  roomFacts?(): RoomFacts;
  /** Who knocked and waits to be let in (the room's waiting room), from the pushed state. */
  knocking?(): { userId: string; displayname: string | undefined }[];
  /** Media keys through the client's end-to-end encryption (the host's, or the standalone page's own device). */
  readonly keys?: KeyCarrier | undefined;
  /** A guest (guest link): when their access ends (ms since the epoch). */
  readonly guestUntil?: number | undefined;
}

/**
 * What an encrypted call needs from the client: whether the room is encrypted, and media keys sent
 * and received as Olm-encrypted to-device messages (the host encrypts and decrypts).
 */
export interface KeyCarrier {
  /** Whether the host let us send and receive keys (to-device capabilities). */
  available(): boolean;
  send(targets: { userId: string; deviceId: string }[], content: KeysContent): Promise<void>;
  /** Listens for to-device messages; returns what stops listening. */
  onMessage(handler: (msg: ToDeviceMessage) => void): () => void;
  /** The call's members by room state (who gets our key, whose keys we take). */
  members(now: number): CallMember[];
  onMembersChanged(handler: () => void): () => void;
}

/**
 * Messages delivered to whoever listens; those that come before anyone listens are held (a few)
 * and handed to the first listener — media keys can arrive before our join.
 */
export class Inbox<T> {
  private readonly handlers: ((msg: T) => void)[] = [];
  private readonly held: T[] = [];

  deliver(msg: T): void {
    if (this.handlers.length > 0) for (const h of this.handlers) h(msg);
    else if (this.held.length < 256) this.held.push(msg);
  }

  /** Listens; returns what stops listening. */
  listen(handler: (msg: T) => void): () => void {
    const stop = listen(this.handlers, handler);
    for (const msg of this.held.splice(0)) handler(msg);
    return stop;
  }
}

/** Adds a handler to a list; returns what removes it. */
export function listen<T>(list: T[], handler: T): () => void {
  list.push(handler);
  return () => {
    const i = list.indexOf(handler);
    if (i >= 0) list.splice(i, 1);
  };
}

/**
 * What a host client is told and asks, as Element Web does with its call app: joined (and keep the
 * call on screen), microphone/camera state, left; and "hang up" from the host. Each is best effort:
 * a host that does not know an action refuses it, and the call goes on.
 */
export interface CallHost {
  joined(): void;
  deviceMute(audio: boolean, video: boolean): void;
  left(): void;
  onHangup(handler: () => void): void;
  /** The host's own Join (Element Web's lobby, with a preloaded call app): with or without each device. */
  onJoin(handler: (media: { audio: boolean; video: boolean }) => void): void;
  /** The host turning our microphone or camera on or off; answers with the state after. */
  onDeviceMute(
    handler: (want: { audio?: boolean; video?: boolean }) => Promise<{ audio: boolean; video: boolean }>,
  ): void;
  /** The user changed the host's theme (`theme_change`, its name). */
  onThemeChange(handler: (name: string) => void): void;
}

/** How long to wait for a host's first state push before reading the state instead. */
const STATE_WAIT_MS = 2_000;

/** Room events Element Call's hands, reactions and ringing are made of. */
const SIGNAL_EVENTS = [CALL_REACTION_EVENT, 'm.reaction', 'm.room.redaction', ...RINGING_EVENTS];

export class WidgetLink implements MatrixLink {
  private delayedEvents = false;
  private hangup: (() => void) | undefined;
  private readonly eventHandlers: ((raw: unknown) => void)[] = [];

  readonly roomEvents: RoomEvents = {
    send: async (type, content) => {
      if (!this.api.hasCapability(`org.matrix.msc2762.send.event:${type}`)) return undefined;
      return (await this.api.sendRoomEvent(type, content)).event_id;
    },
    redact: async (eventId) => {
      if (!this.api.hasCapability('org.matrix.msc2762.send.event:m.room.redaction')) return;
      await this.api.sendRoomEvent('m.room.redaction', { redacts: eventId });
    },
    onEvent: (handler) => {
      this.eventHandlers.push(handler);
    },
  };

  async roomEncrypted(): Promise<boolean> {
    // Not allowed to see the room's encryption state: it may be encrypted, so it counts as such.
    if (!this.api.hasCapability('org.matrix.msc2762.receive.state_event:m.room.encryption')) return true;
    if (!this.statePushed) {
      await Promise.race([this.firstState, new Promise((resolve) => setTimeout(resolve, STATE_WAIT_MS))]);
    }
    if (this.statePushed) return this.encryptionSeen;
    const events = await this.api.readStateEvents('m.room.encryption', undefined, '');
    return events.length > 0;
  }

  readonly keys: KeyCarrier = {
    available: () => this.keysAvailable,
    send: async (targets, content) => {
      const map: Record<string, Record<string, object>> = {};
      for (const t of targets) (map[t.userId] ??= {})[t.deviceId] = content;
      await this.api.sendToDevice(ENCRYPTION_KEYS_EVENT, true, map);
    },
    onMessage: (handler) => this.toDevice.listen(handler),
    members: (now) => this.callMembers.current(now),
    onMembersChanged: (handler) => listen(this.membersChanged, handler),
  };
  /** Call memberships and room memberships from the state the host pushes, from the start. */
  private readonly callMembers = new CallMembers();
  private readonly membersChanged: (() => void)[] = [];
  /** To-device messages from the host (held until someone listens). */
  private toDevice = new Inbox<ToDeviceMessage>();
  private keysAvailable = false;
  private readonly facts: RoomFacts = { powerLevels: undefined, create: undefined };

  roomFacts(): RoomFacts {
    return this.facts;
  }

  knocking(): { userId: string; displayname: string | undefined }[] {
    const out: { userId: string; displayname: string | undefined }[] = [];
    for (const { state_key: userId, content } of this.pushedMembers.values()) {
      const c = (typeof content === 'object' && content !== null ? content : {}) as Record<string, unknown>;
      if (c['membership'] !== 'knock') continue;
      const name = c['displayname'];
      out.push({ userId, displayname: typeof name === 'string' ? name.slice(0, 256) : undefined });
    }
    return out.slice(0, 50);
  }

  /** Whether pushed state had `m.room.encryption` (an encrypted room stays encrypted). */
  private encryptionSeen = false;
  /** The room's name from pushed state. */
  private nameSeen: string | undefined;

  async roomName(): Promise<string | undefined> {
    if (!this.api.hasCapability('org.matrix.msc2762.receive.state_event:m.room.name')) return undefined;
    if (!this.statePushed) {
      await Promise.race([this.firstState, new Promise((resolve) => setTimeout(resolve, STATE_WAIT_MS))]);
    }
    if (this.statePushed) return this.nameSeen;
    const [ev] = await this.api.readStateEvents('m.room.name', 1, '');
    return roomNameFrom((ev as { content?: unknown } | undefined)?.content);
  }

  readonly host: CallHost = {
    joined: () => {
      this.tell('io.element.join', {});
      if (this.api.hasCapability(MatrixCapabilities.AlwaysOnScreen))
        this.api.setAlwaysOnScreen(true).catch(() => undefined);
    },
    deviceMute: (audio, video) => {
      this.tell('io.element.device_mute', { audio_enabled: audio, video_enabled: video });
    },
    left: () => {
      if (this.api.hasCapability(MatrixCapabilities.AlwaysOnScreen))
        this.api.setAlwaysOnScreen(false).catch(() => undefined);
      this.tell('im.vector.hangup', {});
      this.tell('io.element.close', {});
    },
    onHangup: (handler) => {
      this.hangup = handler;
    },
    onJoin: (handler) => {
      this.hostJoin = handler;
    },
    onDeviceMute: (handler) => {
      this.hostDeviceMute = handler;
    },
    onThemeChange: (handler) => {
      this.themeChange = handler;
    },
  };
  private themeChange: ((name: string) => void) | undefined;
  private hostJoin: ((media: { audio: boolean; video: boolean }) => void) | undefined;
  private hostDeviceMute:
    ((want: { audio?: boolean; video?: boolean }) => Promise<{ audio: boolean; video: boolean }>) | undefined;

  /** Sends an action the host may not know: its refusal changes nothing. */
  private tell(action: string, data: Record<string, unknown>): void {
    this.api.transport.send(action, data).catch(() => undefined);
  }

  /** Member events the host pushed (hosts that push state answer reads from the timeline only). */
  private readonly pushedMembers = new Map<string, { state_key: string; content: unknown }>();
  private statePushed = false;

  private constructor(
    private readonly api: WidgetApi,
    readonly userId: string,
    readonly deviceId: string,
    readonly roomId: string,
    private readonly firstState: Promise<void>,
  ) {
    void firstState.then(() => {
      this.statePushed = true;
    });
  }

  private keepMember(raw: unknown): void {
    const ev = raw as { type?: unknown; state_key?: unknown; content?: unknown } | null;
    if (ev?.type === 'm.room.encryption' && ev.state_key === '') this.encryptionSeen = true;
    const content =
      typeof ev?.content === 'object' && ev.content !== null ? (ev.content as Record<string, unknown>) : {};
    if (ev?.type === 'm.room.name' && ev.state_key === '') this.nameSeen = roomNameFrom(content);
    if (ev?.type === 'm.room.power_levels' && ev.state_key === '') this.facts.powerLevels = content;
    const sender = (raw as { sender?: unknown }).sender;
    if (ev?.type === 'm.room.create' && ev.state_key === '' && typeof sender === 'string')
      this.facts.create = { sender, content };
    if (this.callMembers.take(raw)) for (const h of this.membersChanged) h();
    if (ev?.type === 'm.room.member' && typeof ev.state_key === 'string')
      this.pushedMembers.set(ev.state_key, { state_key: ev.state_key, content: ev.content });
  }

  /** Handshake with the host, asking only for the capabilities the call needs. */
  static async connect(opts: {
    widgetId: string;
    parentUrl: string | undefined;
    userId: string;
    deviceId: string;
    roomId: string;
    stateKey: string;
  }): Promise<WidgetLink> {
    const origin = opts.parentUrl === undefined ? undefined : new URL(opts.parentUrl).origin;
    const api = new WidgetApi(opts.widgetId, origin ?? null);
    api.requestCapabilityToSendState(CALL_MEMBER_EVENT, opts.stateKey);
    api.requestCapabilityToReceiveState(CALL_MEMBER_EVENT);
    api.requestCapabilityToReceiveState('m.room.member');
    api.requestCapabilityToReceiveState('m.room.power_levels');
    // The lobby says which room's call this is.
    api.requestCapabilityToReceiveState('m.room.name');
    // Who may moderate: in room v12+ the creators have unlimited power.
    api.requestCapabilityToReceiveState('m.room.create');
    // Encrypted rooms: their calls' media keys go Olm-encrypted to each call member's devices.
    api.requestCapabilityToReceiveState('m.room.encryption');
    api.requestCapabilityToSendToDevice(ENCRYPTION_KEYS_EVENT);
    api.requestCapabilityToReceiveToDevice(ENCRYPTION_KEYS_EVENT);
    api.requestCapability(MatrixCapabilities.MSC4157SendDelayedEvent);
    api.requestCapability(MatrixCapabilities.MSC4157UpdateDelayedEvent);
    // Avatars: media needs authentication, which only the host client has.
    api.requestCapability(MatrixCapabilities.MSC4039DownloadFile);
    // Element Web keeps a call on screen (picture in picture) when the user changes room.
    api.requestCapability(MatrixCapabilities.AlwaysOnScreen);
    // The call's room events keep coming while the user looks at another room (Element Web feeds
    // only the viewed room's to a widget without this).
    api.requestCapabilityForRoomTimeline(opts.roomId);
    for (const type of SIGNAL_EVENTS) {
      api.requestCapabilityToSendEvent(type);
      api.requestCapabilityToReceiveEvent(type);
    }
    // What the host feeds (the room state once approved, then live events): acknowledged, as a
    // widget must, and handed to whoever reads room events.
    const handlers: ((raw: unknown) => void)[] = [];
    const deliver = (raw: unknown): void => {
      for (const h of handlers) h(raw);
    };
    api.on('action:send_event', (ev: CustomEvent<IWidgetApiRequest>) => {
      ev.preventDefault();
      api.transport.reply(ev.detail, {});
      deliver(ev.detail.data);
    });
    let stateArrived: () => void = () => undefined;
    const firstState = new Promise<void>((resolve) => {
      stateArrived = resolve;
    });
    api.on('action:update_state', (ev: CustomEvent<IWidgetApiRequest>) => {
      ev.preventDefault();
      api.transport.reply(ev.detail, {});
      const state = (ev.detail.data as { state?: unknown }).state;
      if (Array.isArray(state)) for (const e of state) deliver(e);
      stateArrived();
    });
    // To-device messages may come before the link exists: held in the inbox it then takes over.
    const toDevice = new Inbox<ToDeviceMessage>();
    api.on('action:send_to_device', (ev: CustomEvent<IWidgetApiRequest>) => {
      ev.preventDefault();
      api.transport.reply(ev.detail, {});
      const d = ev.detail.data as Record<string, unknown>;
      if (typeof d['type'] !== 'string' || typeof d['sender'] !== 'string') return;
      toDevice.deliver({
        type: d['type'],
        sender: d['sender'],
        encrypted: d['encrypted'] === true,
        content: d['content'],
      });
    });
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new CallError('widget_api', 'no answer from the host client'));
      }, 15_000);
      api.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    api.start();
    // Element Web loads its call app with `waitForIframeLoad: false`: it waits for this before
    // negotiating capabilities. A host that waited for the frame's load instead answers with an
    // error, which changes nothing (Element Call sends it the same way).
    api.sendContentLoaded().catch(() => undefined);
    await ready;
    const link = new WidgetLink(api, opts.userId, opts.deviceId, opts.roomId, firstState);
    handlers.push((raw) => {
      link.keepMember(raw);
      for (const h of link.eventHandlers) h(raw);
    });
    link.toDevice = toDevice;
    link.keysAvailable =
      api.hasCapability(`org.matrix.msc3819.send.to_device:${ENCRYPTION_KEYS_EVENT}`) &&
      api.hasCapability(`org.matrix.msc3819.receive.to_device:${ENCRYPTION_KEYS_EVENT}`);
    // The host asking the call to end (Element Web's hang-up button).
    api.on('action:im.vector.hangup', (ev: CustomEvent<IWidgetApiRequest>) => {
      ev.preventDefault();
      api.transport.reply(ev.detail, {});
      link.hangup?.();
    });
    api.on('action:theme_change', (ev: CustomEvent<IWidgetApiRequest>) => {
      ev.preventDefault();
      api.transport.reply(ev.detail, {});
      const name = (ev.detail.data as Record<string, unknown> | undefined)?.['name'];
      if (typeof name === 'string' && name.length <= 64) link.themeChange?.(name);
    });
    // Element Web's own Join, for a call app it loaded ahead (`preload`): a device given as null is off.
    api.on('action:io.element.join', (ev: CustomEvent<IWidgetApiRequest>) => {
      ev.preventDefault();
      api.transport.reply(ev.detail, {});
      const d = (ev.detail.data as Record<string, unknown> | undefined) ?? {};
      link.hostJoin?.({ audio: d['audioInput'] !== null, video: d['videoInput'] !== null });
    });
    api.on('action:io.element.device_mute', (ev: CustomEvent<IWidgetApiRequest>) => {
      ev.preventDefault();
      const d = (ev.detail.data as Record<string, unknown> | undefined) ?? {};
      const want = {
        ...(typeof d['audio_enabled'] === 'boolean' ? { audio: d['audio_enabled'] } : {}),
        ...(typeof d['video_enabled'] === 'boolean' ? { video: d['video_enabled'] } : {}),
      };
      const answer = link.hostDeviceMute?.(want) ?? Promise.resolve(undefined);
      answer.then(
        (state) => {
          api.transport.reply(
            ev.detail,
            state === undefined ? {} : { audio_enabled: state.audio, video_enabled: state.video },
          );
        },
        () => {
          api.transport.reply(ev.detail, {});
        },
      );
    });
    link.delayedEvents =
      api.hasCapability(MatrixCapabilities.MSC4157SendDelayedEvent) &&
      api.hasCapability(MatrixCapabilities.MSC4157UpdateDelayedEvent);
    return link;
  }

  /**
   * Joined members: from the state the host pushes (MSC2762 `update_state`, as Element Web does),
   * or read from a host that does not push.
   */
  async members(): Promise<Map<string, MemberInfo>> {
    if (!this.statePushed) {
      await Promise.race([this.firstState, new Promise((resolve) => setTimeout(resolve, STATE_WAIT_MS))]);
    }
    if (this.statePushed) return membersFrom([...this.pushedMembers.values()]);
    return membersFrom(await this.api.readStateEvents('m.room.member'));
  }

  async avatar(mxc: string): Promise<string | undefined> {
    if (!this.api.hasCapability(MatrixCapabilities.MSC4039DownloadFile)) return undefined;
    try {
      const { file } = await this.api.downloadFile(mxc);
      return URL.createObjectURL(file instanceof Blob ? file : new Blob([file as BlobPart]));
    } catch {
      return undefined;
    }
  }

  async openIdToken(): Promise<OpenIdToken> {
    try {
      const t = await this.api.requestOpenIDConnectToken();
      if (t.access_token === undefined || t.matrix_server_name === undefined) throw new Error('incomplete');
      return {
        access_token: t.access_token,
        token_type: t.token_type ?? 'Bearer',
        matrix_server_name: t.matrix_server_name,
        expires_in: t.expires_in ?? 3600,
      };
    } catch (err) {
      throw new CallError('widget_api', `OpenID refused: ${(err as Error).message}`);
    }
  }

  async sendMembership(stateKey: string, content: Record<string, unknown>): Promise<string | undefined> {
    return (await this.api.sendStateEvent(CALL_MEMBER_EVENT, stateKey, content)).event_id;
  }

  async scheduleLeave(stateKey: string, delayMs: number): Promise<string | undefined> {
    if (!this.delayedEvents) return undefined;
    try {
      const res = await this.api.sendStateEvent(CALL_MEMBER_EVENT, stateKey, {}, undefined, delayMs);
      return res.delay_id;
    } catch {
      return undefined; // the homeserver may not support delayed events: the service cleans up instead
    }
  }

  async restartLeave(delayId: string): Promise<void> {
    await this.api.restartScheduledDelayedEvent(delayId);
  }

  async cancelLeave(delayId: string): Promise<void> {
    await this.api.cancelScheduledDelayedEvent(delayId);
  }
}

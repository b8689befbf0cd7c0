/**
 * What the call needs from Matrix, whichever way the widget runs: who we are, an OpenID token from
 * our homeserver, and writing our MatrixRTC membership (with a delayed leave where supported).
 * WidgetLink speaks matrix-widget-api to the host client (Element, Tchap, the test host page).
 */
import { MatrixCapabilities, WidgetApi, type IWidgetApiRequest } from 'matrix-widget-api';

import { CallError } from '../core/errors.ts';
import { CALL_MEMBER_EVENT } from '../core/membership.ts';

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

export interface MatrixLink {
  readonly userId: string;
  readonly deviceId: string;
  readonly roomId: string;
  /** Joined members of the room, for names and avatars. */
  members(): Promise<Map<string, MemberInfo>>;
  /** An object URL for an mxc:// image, or undefined when it cannot be had. */
  avatar(mxc: string): Promise<string | undefined>;
  openIdToken(): Promise<OpenIdToken>;
  sendMembership(stateKey: string, content: Record<string, unknown>): Promise<void>;
  /** Schedules `{}` at stateKey after delayMs (MSC4140); undefined when the host cannot. */
  scheduleLeave(stateKey: string, delayMs: number): Promise<string | undefined>;
  restartLeave(delayId: string): Promise<void>;
  cancelLeave(delayId: string): Promise<void>;
  /** The client hosting the call (Element Web's call-app actions); absent when standalone. */
  readonly host?: CallHost;
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
}

export class WidgetLink implements MatrixLink {
  private delayedEvents = false;
  private hangup: (() => void) | undefined;

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
  };

  /** Sends an action the host may not know: its refusal changes nothing. */
  private tell(action: string, data: Record<string, unknown>): void {
    this.api.transport.send(action, data).catch(() => undefined);
  }

  private constructor(
    private readonly api: WidgetApi,
    readonly userId: string,
    readonly deviceId: string,
    readonly roomId: string,
  ) {}

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
    api.requestCapability(MatrixCapabilities.MSC4157SendDelayedEvent);
    api.requestCapability(MatrixCapabilities.MSC4157UpdateDelayedEvent);
    // Avatars: media needs authentication, which only the host client has.
    api.requestCapability(MatrixCapabilities.MSC4039DownloadFile);
    // Element Web keeps a call on screen (picture in picture) when the user changes room.
    api.requestCapability(MatrixCapabilities.AlwaysOnScreen);
    // What the host feeds a widget that may receive room state (the state once approved, then live
    // events): acknowledged, as a widget must, or the host logs each as a failure.
    for (const action of ['update_state', 'send_event', 'send_to_device']) {
      api.on(`action:${action}`, (ev: CustomEvent<IWidgetApiRequest>) => {
        ev.preventDefault();
        api.transport.reply(ev.detail, {});
      });
    }
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
    const link = new WidgetLink(api, opts.userId, opts.deviceId, opts.roomId);
    // The host asking the call to end (Element Web's hang-up button).
    api.on('action:im.vector.hangup', (ev: CustomEvent<IWidgetApiRequest>) => {
      ev.preventDefault();
      api.transport.reply(ev.detail, {});
      link.hangup?.();
    });
    link.delayedEvents =
      api.hasCapability(MatrixCapabilities.MSC4157SendDelayedEvent) &&
      api.hasCapability(MatrixCapabilities.MSC4157UpdateDelayedEvent);
    return link;
  }

  async members(): Promise<Map<string, MemberInfo>> {
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

  async sendMembership(stateKey: string, content: Record<string, unknown>): Promise<void> {
    await this.api.sendStateEvent(CALL_MEMBER_EVENT, stateKey, content);
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

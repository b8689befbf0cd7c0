/**
 * Element Web's way of loading its call app, for Causerie or for the real Element Call: a virtual
 * `m.call` widget (no room state), the widget id and parent in the query and the call parameters in
 * the fragment (`#?roomId=…&intent=…`), the widget API created before the frame gets its source, the
 * room's state pushed once capabilities are approved, then every live event, state change and
 * to-device message of the room fed to it as the client syncs. It answers the call app's actions
 * (`io.element.join`, `io.element.device_mute`, `set_always_on_screen`, `im.vector.hangup`,
 * `io.element.close`), recording them in `window.causerieHost.actions`;
 * `window.causerieHost.hangup()` sends Element Web's hang-up, `join(audio, video)` its join,
 * `deviceMute(audio, video)` its microphone and camera switches, `theme(name)` a theme change.
 */
import { ClientEvent, RoomStateEvent, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { ClientWidgetApi, Widget, type IRoomEvent, type IWidgetApiRequest } from 'matrix-widget-api';

import { HostDriver } from './driver.ts';

export interface CallAppOptions {
  /** Where the app's index.html lives (no trailing slash). */
  appUrl: string;
  baseUrl: string;
  userId: string;
  deviceId: string;
  roomId: string;
  lang: string;
  /** Call-app parameters overriding Element Web's defaults (intent, skipLobby, theme…). */
  overrides: Record<string, string>;
  /** Capabilities the user refuses (by prefix). */
  deny?: string[];
}

const CALL_APP_ACTIONS = [
  'io.element.join',
  'io.element.device_mute',
  'set_always_on_screen',
  'im.vector.hangup',
  'io.element.close',
];

/** The call-app parameters a host may override from its own fragment. */
export const CALL_APP_PARAMS = [
  'intent',
  'skipLobby',
  'returnToLobby',
  'preload',
  'header',
  'theme',
  'fontScale',
  'perParticipantE2EE',
  'sendNotificationType',
];

export function loadCallApp(client: MatrixClient, o: CallAppOptions): void {
  const id = `call-app-${Math.random().toString(36).slice(2)}`;
  const url = new URL(`${o.appUrl}/index.html`);
  url.searchParams.set('widgetId', id);
  url.searchParams.set('parentUrl', location.href.split('#')[0] ?? location.href);
  const params = new URLSearchParams({
    confineToRoom: 'true',
    intent: 'join_existing',
    skipLobby: 'false',
    returnToLobby: 'true',
    header: 'none',
    // As Element Web: per-participant media encryption in a room with m.room.encryption.
    perParticipantE2EE: String(client.getRoom(o.roomId)?.hasEncryptionStateEvent() ?? false),
    userId: o.userId,
    deviceId: o.deviceId,
    roomId: o.roomId,
    baseUrl: o.baseUrl,
    lang: o.lang,
    fontScale: '1',
    theme: 'light',
    sendNotificationType: 'notification',
    preload: 'false',
    ...o.overrides,
  });
  const src = `${url.href}#?${params.toString()}`;
  const widget = new Widget({
    id,
    creatorUserId: o.userId,
    type: 'm.call',
    url: src,
    name: 'Call',
    data: {},
    waitForIframeLoad: false,
  });
  const iframe = document.createElement('iframe');
  iframe.title = 'Call';
  iframe.allow =
    'camera; microphone; display-capture; autoplay; clipboard-write; fullscreen; screen-wake-lock; speaker-selection';
  // As Element Web does: the frame is in the page and the API exists before the frame has its source.
  document.getElementById('widget')?.appendChild(iframe);
  const api = new ClientWidgetApi(widget, iframe, new HostDriver(client, o.roomId, o.deny));
  api.setViewedRoomId(o.roomId);
  const actions: string[] = [];
  for (const action of CALL_APP_ACTIONS) {
    api.on(`action:${action}`, (ev: CustomEvent<IWidgetApiRequest>) => {
      ev.preventDefault();
      actions.push(action);
      api.transport.reply(ev.detail, {});
    });
  }
  feed(client, api, o.roomId);
  (window as unknown as { causerieHost: unknown }).causerieHost = {
    actions,
    hangup: () => api.transport.send('im.vector.hangup', {}),
    // Element Web's Join for a preloaded call app: a device it does not use is null.
    join: (audio = true, video = true) =>
      api.transport.send('io.element.join', {
        audioInput: audio ? 'default' : null,
        videoInput: video ? 'default' : null,
      }),
    theme: (name: string) => api.updateTheme({ name }),
    deviceMute: (audio: boolean, video: boolean) =>
      api.transport.send('io.element.device_mute', { audio_enabled: audio, video_enabled: video }),
  };
  iframe.src = src;
}

/** A to-device message the host received, as the tests read it (`window.causerieToDevice`). */
export interface ReceivedToDevice {
  type: string;
  sender: string;
  /** Olm-decrypted by the host's crypto, and from which device of the sender. */
  encrypted: boolean;
  senderDevice: string | undefined;
  content: unknown;
}

/** Live events, state changes and to-device messages, as Element Web feeds them to its widgets. */
export function feed(client: MatrixClient, api: ClientWidgetApi, roomId: string): void {
  const raw = (ev: MatrixEvent): IRoomEvent => ev.getEffectiveEvent() as unknown as IRoomEvent;
  const swallow = (): void => undefined;
  client.on(ClientEvent.Event, (ev) => {
    if (ev.getRoomId() !== roomId || ev.isBeingDecrypted() || ev.isDecryptionFailure()) return;
    api.feedEvent(raw(ev)).catch(swallow);
  });
  client.on(RoomStateEvent.Events, (ev) => {
    if (ev.getRoomId() === roomId) api.feedStateUpdate(raw(ev)).catch(swallow);
  });
  const received: ReceivedToDevice[] = [];
  (window as unknown as { causerieToDevice: ReceivedToDevice[] }).causerieToDevice = received;
  client.on(ClientEvent.ReceivedToDeviceMessage, ({ message, encryptionInfo }) => {
    received.push({
      type: message.type,
      sender: message.sender,
      encrypted: encryptionInfo !== null,
      senderDevice: encryptionInfo?.senderDevice,
      content: message.content,
    });
    api.feedToDevice(message, encryptionInfo !== null).catch(swallow);
  });
}

/**
 * A minimal Matrix client hosting the call widget, as Element Web does: a real matrix-js-sdk client
 * (access token from the URL fragment, never sent to a server other than its homeserver), the
 * room's widget read from its `im.vector.modular.widgets` state, filled in and embedded in an
 * iframe, and matrix-widget-api's ClientWidgetApi answering the widget with a driver that approves
 * its capabilities and serves OpenID tokens, state events and delayed events through the client.
 *
 * URL: /dev/host/#hs=<client API URL>&token=<access token>&user=<user id>&device=<device id>
 *      &room=<room id>&lang=<fr|en>[&callapp=1]
 *
 * With `callapp=1` it loads Causerie the way Element Web loads its call app: a virtual `m.call`
 * widget (no room state), the widget id and parent in the query and the rest in the fragment
 * (`#?roomId=…&intent=…`), and it answers the call app's actions (`io.element.join`,
 * `io.element.device_mute`, `set_always_on_screen`, `im.vector.hangup`, `io.element.close`),
 * recording them in `window.causerieHost.actions`; `window.causerieHost.hangup()` sends Element
 * Web's hang-up to the widget.
 */
import { createClient, type MatrixClient } from 'matrix-js-sdk';
import {
  ClientWidgetApi,
  OpenIDRequestState,
  Widget,
  WidgetDriver,
  type Capability,
  type IOpenIDUpdate,
  type IWidgetApiRequest,
  type IRoomEvent,
  type ISendDelayedEventDetails,
  type ISendEventDetails,
  type SimpleObservable,
} from 'matrix-widget-api';

const WIDGET_EVENT = 'im.vector.modular.widgets';

const fragment = new URLSearchParams(location.hash.slice(1));
const need = (key: string): string => {
  const v = fragment.get(key);
  if (v === null || v === '') throw new Error(`missing ${key} in the URL fragment`);
  return v;
};

class HostDriver extends WidgetDriver {
  constructor(
    private readonly client: MatrixClient,
    private readonly roomId: string,
  ) {
    super();
  }

  override validateCapabilities(requested: Set<Capability>): Promise<Set<Capability>> {
    // A test host: the user approves everything the widget asks for.
    return Promise.resolve(requested);
  }

  override async sendEvent(
    eventType: string,
    content: unknown,
    stateKey?: string | null,
    roomId?: string | null,
  ): Promise<ISendEventDetails> {
    const room = roomId ?? this.roomId;
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
    if (stateKey === undefined || stateKey === null) throw new Error('only delayed state events are supported here');
    const res = await this.client._unstable_sendDelayedStateEvent(
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

  override async readRoomState(roomId: string, eventType: string, stateKey: string | undefined): Promise<IRoomEvent[]> {
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

  /** Media needs the user's authentication, which the widget does not have (MSC4039). */
  override async downloadFile(contentUri: string): Promise<{ file: XMLHttpRequestBodyInit }> {
    const url = this.client.mxcUrlToHttp(contentUri, undefined, undefined, undefined, false, true, true);
    if (url === null) throw new Error('not an mxc URI');
    const res = await fetch(url, { headers: { authorization: `Bearer ${this.client.getAccessToken() ?? ''}` } });
    if (!res.ok) throw new Error(`media download answered ${res.status}`);
    return { file: await res.blob() };
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

function status(text: string, isError = false): void {
  const el = document.getElementById('status');
  if (el !== null) {
    el.textContent = text;
    el.setAttribute('role', isError ? 'alert' : 'status');
  }
}

async function main(): Promise<void> {
  const baseUrl = need('hs');
  const userId = need('user');
  const deviceId = need('device');
  const roomId = need('room');
  const lang = fragment.get('lang') ?? 'en';
  const client = createClient({ baseUrl, accessToken: need('token'), userId, deviceId });
  const profile = await client.getProfileInfo(userId).catch(() => ({ displayname: undefined }));
  // A member reads the widget from the room; someone who cannot read the room (not a member, e.g.
  // holding a shared link) gets the service's own widget, which then explains why they cannot join.
  const state = await client.roomState(roomId).catch(() => undefined);
  const widgetEvent = state?.find(
    (e) => e.type === WIDGET_EVENT && typeof (e.content as { url?: unknown }).url === 'string',
  );
  if (state !== undefined && widgetEvent === undefined) {
    status('No call widget in this room yet: type !call in the room.', true);
    return;
  }
  const fallbackUrl = `${location.origin}/widget/?roomId=$matrix_room_id&userId=$matrix_user_id&displayName=$matrix_display_name&lang=$org.matrix.msc2873.client_language&theme=$org.matrix.msc2873.client_theme&deviceId=$org.matrix.msc3819.matrix_device_id&baseUrl=$org.matrix.msc4039.matrix_base_url&widgetId=$matrix_widget_id`;
  const content = (widgetEvent?.content ?? { url: fallbackUrl, type: 'm.custom', name: 'Causerie' }) as {
    url: string;
    type: string;
    name?: string;
    data?: Record<string, unknown>;
  };
  if (fragment.get('callapp') === '1') {
    loadAsCallApp(client, { baseUrl, userId, deviceId, roomId, lang });
    return;
  }
  const widget = new Widget({
    id: widgetEvent?.state_key ?? 'causerie_call',
    creatorUserId: widgetEvent?.sender ?? userId,
    type: content.type,
    url: content.url,
    name: content.name ?? 'Call',
    data: content.data ?? {},
  });
  // As Element does: fill in the template, then tell the widget who its parent is.
  const url = new URL(
    widget.getCompleteUrl({
      widgetRoomId: roomId,
      currentUserId: userId,
      userDisplayName: profile.displayname ?? userId,
      clientId: 'io.causerie.test-host',
      clientLanguage: lang,
      clientTheme: 'light',
      deviceId,
      baseUrl,
    }),
  );
  url.searchParams.set('widgetId', widget.id);
  url.searchParams.set('parentUrl', location.href.split('#')[0] ?? location.href);

  const iframe = document.createElement('iframe');
  iframe.title = content.name ?? 'Call';
  iframe.allow = 'camera; microphone; display-capture; autoplay; fullscreen';
  iframe.src = url.href;
  document.getElementById('widget')?.appendChild(iframe);
  const api = new ClientWidgetApi(widget, iframe, new HostDriver(client, roomId));
  api.on('ready', () => {
    status(`${userId} in ${roomId}`);
  });
}

/** Element Web's way of loading its call app (see the header). */
function loadAsCallApp(
  client: MatrixClient,
  o: { baseUrl: string; userId: string; deviceId: string; roomId: string; lang: string },
): void {
  const id = `causerie-call-app-${Math.random().toString(36).slice(2)}`;
  const url = new URL(`${location.origin}/widget/index.html`);
  url.searchParams.set('widgetId', id);
  url.searchParams.set('parentUrl', location.href.split('#')[0] ?? location.href);
  const params = new URLSearchParams({
    confineToRoom: 'true',
    intent: 'join_existing',
    skipLobby: 'false',
    returnToLobby: 'true',
    header: 'none',
    perParticipantE2EE: 'false',
    userId: o.userId,
    deviceId: o.deviceId,
    roomId: o.roomId,
    baseUrl: o.baseUrl,
    lang: o.lang,
    fontScale: '1',
    theme: 'light',
    sendNotificationType: 'notification',
    preload: 'false',
  });
  const src = `${url.href}#?${params.toString()}`;
  const widget = new Widget({ id, creatorUserId: o.userId, type: 'm.call', url: src, name: 'Call', data: {} });
  const iframe = document.createElement('iframe');
  iframe.title = 'Call';
  iframe.allow = 'camera; microphone; display-capture; autoplay; clipboard-write; fullscreen; screen-wake-lock';
  // As Element Web does: the frame is in the page and the API exists before the frame has its source.
  document.getElementById('widget')?.appendChild(iframe);
  const api = new ClientWidgetApi(widget, iframe, new HostDriver(client, o.roomId));
  const actions: string[] = [];
  for (const action of [
    'io.element.join',
    'io.element.device_mute',
    'set_always_on_screen',
    'im.vector.hangup',
    'io.element.close',
  ]) {
    api.on(`action:${action}`, (ev: CustomEvent<IWidgetApiRequest>) => {
      ev.preventDefault();
      actions.push(action);
      api.transport.reply(ev.detail, {});
    });
  }
  (window as unknown as { causerieHost: unknown }).causerieHost = {
    actions,
    hangup: () => api.transport.send('im.vector.hangup', {}),
  };
  api.on('ready', () => {
    status(`${o.userId} in ${o.roomId} (call app)`);
  });
  iframe.src = src;
}

main().catch((err: unknown) => {
  status(`The host page could not start: ${(err as Error).message}`, true);
});

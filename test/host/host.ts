/**
 * A minimal Matrix client hosting the call widget, as Element Web does: a real matrix-js-sdk client
 * (access token from the URL fragment, never sent to a server other than its homeserver), the
 * room's widget read from its `im.vector.modular.widgets` state, filled in and embedded in an
 * iframe, and matrix-widget-api's ClientWidgetApi answering the widget with a driver that approves
 * its capabilities and serves OpenID tokens, state events and delayed events through the client.
 *
 * URL: /dev/host/#hs=<client API URL>&token=<access token>&user=<user id>&device=<device id>
 *      &room=<room id>&lang=<fr|en>[&callapp=causerie|element-call&app=<Element Call URL>]
 *      [&intent=…&skipLobby=…&theme=…: call-app parameters, theme also for the room widget][&deny=<capability prefix>,…]
 *
 * With `callapp` it loads Causerie (`causerie`: the service's widget, or a copy served at `app`) or
 * the real Element Call served at `app`, the way Element Web loads its call app (call-app.ts).
 */
import { ClientEvent, createClient, SyncState, type MatrixClient } from 'matrix-js-sdk';
import { ClientWidgetApi, Widget } from 'matrix-widget-api';

import { deviceKeysPublished } from '../../widget/call/standalone-crypto.ts';
import { CALL_APP_PARAMS, feed, loadCallApp } from './call-app.ts';
import { HostDriver } from './driver.ts';

const WIDGET_EVENT = 'im.vector.modular.widgets';

const fragment = new URLSearchParams(location.hash.slice(1));
const need = (key: string): string => {
  const v = fragment.get(key);
  if (v === null || v === '') throw new Error(`missing ${key} in the URL fragment`);
  return v;
};

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
  const deny = (fragment.get('deny') ?? '').split(',').filter((d) => d !== '');
  const client = createClient({ baseUrl, accessToken: need('token'), userId, deviceId });
  // A full client, as Element Web: end-to-end encryption (Rust crypto, a store in memory: each
  // page is a new device), and it syncs and feeds the widget the room's events as they come.
  await client.initRustCrypto({ useIndexedDB: false });
  await synced(client);
  await deviceKeysPublished(client, userId, deviceId);
  const callApp = fragment.get('callapp');
  if (callApp !== null) {
    const overrides: Record<string, string> = {};
    for (const key of CALL_APP_PARAMS) {
      const v = fragment.get(key);
      if (v !== null) overrides[key] = v;
    }
    const appUrl = (
      callApp === 'element-call' ? need('app') : (fragment.get('app') ?? `${location.origin}/widget`)
    ).replace(/\/+$/, '');
    loadCallApp(client, { appUrl, baseUrl, userId, deviceId, roomId, lang, overrides, deny });
    status(`${userId} in ${roomId} (call app: ${callApp === 'element-call' ? 'Element Call' : 'Causerie'})`);
    return;
  }
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
      // The host's theme (light unless the fragment names one), as Element passes its own.
      clientTheme: fragment.get('theme') ?? 'light',
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
  const api = new ClientWidgetApi(widget, iframe, new HostDriver(client, roomId, deny));
  api.setViewedRoomId(roomId);
  feed(client, api, roomId);
  api.on('ready', () => {
    status(`${userId} in ${roomId}`);
  });
}

/** Starts the client's sync and waits for its first one, as a full client has before a call. */
function synced(client: MatrixClient): Promise<void> {
  return new Promise((resolve, reject) => {
    client.on(ClientEvent.Sync, (state) => {
      if (state === SyncState.Prepared) resolve();
      if (state === SyncState.Error) reject(new Error('the first sync failed'));
    });
    void client.startClient({ initialSyncLimit: 20, lazyLoadMembers: true });
  });
}

main().catch((err: unknown) => {
  status(`The host page could not start: ${(err as Error).message}`, true);
});

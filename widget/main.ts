/**
 * Entry point of the call widget: reads the URL, connects to the host client (widget mode), and
 * mounts the app.
 */
import { CallSession } from './call/call-session.ts';
import { WidgetLink } from './call/matrix-link.ts';
import { CallError, errorDetail } from './core/errors.ts';
import { membershipStateKey } from './core/membership.ts';
import { parseParams, themeOf } from './core/url-params.ts';
import { serviceUrlFrom } from './core/widget-config.ts';
import type { CauserieApp } from './ui/app.ts';
import './ui/app.ts';

/** config.json beside the widget, or undefined (the widget then uses the service serving it). */
async function readConfig(): Promise<unknown> {
  try {
    const res = await fetch(new URL('config.json', location.href), {
      cache: 'no-cache',
      signal: AbortSignal.timeout(5_000),
    });
    return res.ok ? await res.json() : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  // Element Web puts most parameters in the fragment (`#?roomId=…`): read both.
  const params = parseParams(location.search, navigator.language, location.hash);
  const app =
    document.querySelector<CauserieApp>('causerie-app') ??
    document.body.appendChild(document.createElement('causerie-app'));
  document.documentElement.lang = params.lang;
  app.lang = params.lang;
  const applyTheme = (theme: { theme: 'light' | 'dark'; highContrast: boolean }): void => {
    app.setAttribute('theme', theme.theme);
    if (theme.highContrast) app.setAttribute('contrast', 'more');
    else app.removeAttribute('contrast');
    document.body.style.background = theme.theme === 'dark' ? '#15191e' : '';
  };
  applyTheme(params);
  // The host's text size (Element Web's fontScale): everything is sized in rem.
  document.documentElement.style.fontSize = `${params.fontScale * 100}%`;
  // The token service is the Causerie service that serves this page.
  // Read while the host handshake goes on.
  const service = readConfig().then((config) => serviceUrlFrom(config, location.href));

  if (params.mode === 'standalone' && params.guestLink !== undefined) {
    await guestPage(app, params.guestLink, params.lang, service);
    return;
  }
  if (params.mode === 'standalone') {
    const roomId = params.roomId;
    if (roomId === undefined) {
      app.startError = new CallError('bad_params', 'no room in the link');
      return;
    }
    // A partner opening a shared link: sign in on their own homeserver, then the same call. The
    // form is only the standalone page's (a chunk of its own).
    await import('./ui/sign-in.ts');
    app.signIn = async ({ userId, password }, waiting) => {
      // Code only the standalone page needs (a chunk of its own).
      const { StandaloneLink } = await import('./call/standalone-link.ts');
      const link = await StandaloneLink.signIn({
        userId,
        password,
        roomId,
        via: params.via,
        onWaiting: waiting,
        serviceUrl: await service,
      });
      return new CallSession(link, await service);
    };
    return;
  }
  app.options = {
    skipLobby: params.skipLobby,
    preload: params.preload,
    returnToLobby: params.returnToLobby,
    audioOnly: params.audioOnly,
  };
  const { widgetId, userId, deviceId, roomId } = params;
  if (widgetId === undefined || userId === undefined || deviceId === undefined || roomId === undefined) {
    app.startError = new CallError('bad_params');
    return;
  }
  // Where we publish: our homeserver's transport (asked during the handshake), else the service.
  const transport = service.then(async (url) =>
    (await import('./call/own-transport.ts')).ownTransport(userId, url, params.baseUrl),
  );
  try {
    const link = await WidgetLink.connect({
      widgetId,
      parentUrl: params.parentUrl,
      userId,
      deviceId,
      roomId,
      stateKey: membershipStateKey(userId, deviceId),
    });
    // The user switching Element Web's theme during the call.
    link.host.onThemeChange((name) => {
      applyTheme(themeOf(name));
    });
    // Element Web asks for per-participant encryption in an encrypted room; the room's own state
    // decides too (a room widget is given no such parameter).
    const session = new CallSession(link, await service, {
      notify: params.sendNotificationType,
      e2ee: params.perParticipantE2EE,
      transportUrl: await transport,
    });
    app.attach(session);
    // While the user looks at the lobby, get the token ready so Join only has to connect.
    session.prepare();
  } catch (err) {
    app.startError = err instanceof CallError ? err : new CallError('widget_api', errorDetail(err));
  }
}

/**
 * Someone opening a guest link: the link is checked first (a dead link gets its own page, and no name
 * is asked), then the name; the service makes the guest's account and the page joins through the
 * waiting room or straight in.
 */
async function guestPage(
  app: CauserieApp,
  guestLink: string,
  lang: 'fr' | 'en',
  service: Promise<string>,
): Promise<void> {
  const { checkGuestLink, redeemGuestLink } = await import('./call/guest-entry.ts');
  const serviceUrl = await service;
  try {
    await checkGuestLink(serviceUrl, guestLink);
  } catch (err) {
    app.startError = err instanceof CallError ? err : new CallError('unknown', errorDetail(err));
    return;
  }
  await import('./ui/sign-in.ts');
  app.guest = true;
  app.signIn = async ({ name }, waiting) => {
    const { StandaloneLink } = await import('./call/standalone-link.ts');
    const guest = await redeemGuestLink(serviceUrl, guestLink, name, lang);
    const link = await StandaloneLink.guest({
      serviceUrl,
      session: guest.session,
      userId: guest.user_id,
      deviceId: guest.device_id,
      roomId: guest.room_id,
      expiresAt: guest.expires_at,
      onWaiting: waiting,
    });
    return new CallSession(link, serviceUrl);
  };
}

void main();

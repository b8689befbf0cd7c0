/**
 * Standalone mode: the user signs in with their Matrix account on their *own* homeserver (found from
 * their user id through /.well-known/matrix/client), and the widget talks to the client-server API
 * itself — the way a partner without a Causerie-enabled client joins a call from a shared link. In an
 * encrypted room the page also becomes a Matrix device with its own keys (standalone-crypto.ts).
 */
import { CallError, errorDetail } from '../core/errors.ts';
import { CALL_MEMBER_EVENT } from '../core/membership.ts';
import {
  membersFrom,
  roomNameFrom,
  type KeyCarrier,
  type MatrixLink,
  type MemberInfo,
  type OpenIdToken,
} from './matrix-link.ts';

const enc = encodeURIComponent;

/** The client-server base URL of a user's homeserver (spec client discovery). */
export async function discoverHomeserver(userId: string): Promise<string> {
  const m = /^@[^:]+:(.+)$/.exec(userId.trim());
  if (m?.[1] === undefined) throw new CallError('bad_user_id');
  const server = m[1];
  let base = `https://${server}`;
  try {
    const res = await fetch(`https://${server}/.well-known/matrix/client`, { signal: AbortSignal.timeout(10_000) });
    if (res.ok) {
      const wk = (await res.json()) as { 'm.homeserver'?: { base_url?: unknown } };
      if (typeof wk['m.homeserver']?.base_url === 'string') base = wk['m.homeserver'].base_url;
    }
  } catch {
    // No well-known: the server name itself is tried.
  }
  base = base.replace(/\/+$/, '');
  try {
    const res = await fetch(`${base}/_matrix/client/versions`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (err) {
    throw new CallError('homeserver_unreachable', errorDetail(err));
  }
  return base;
}

export class StandaloneLink implements MatrixLink {
  /** In an encrypted room: this page's own Matrix device, carrying media keys. */
  keys: KeyCarrier | undefined;
  /** A guest: when their access ends. */
  guestUntil: number | undefined;

  private constructor(
    private readonly baseUrl: string,
    private readonly accessToken: string,
    readonly userId: string,
    readonly deviceId: string,
    readonly roomId: string,
  ) {}

  /** Signs in with a password and makes sure the user is joined to the room. */
  static async signIn(opts: {
    userId: string;
    password: string;
    roomId: string;
    via: string[];
    /** The room asks to knock: we did, and wait to be let in (shown by the page). */
    onWaiting?: () => void;
    /** The Causerie service, which knows whether a knock was answered. */
    serviceUrl?: string;
  }): Promise<StandaloneLink> {
    const baseUrl = await discoverHomeserver(opts.userId);
    let res: Response;
    try {
      res = await fetch(`${baseUrl}/_matrix/client/v3/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          type: 'm.login.password',
          identifier: { type: 'm.id.user', user: opts.userId.trim() },
          password: opts.password,
          initial_device_display_name: 'Causerie (browser)',
        }),
      });
    } catch (err) {
      throw new CallError('sign_in_failed', errorDetail(err));
    }
    const body = (await res.json().catch(() => ({}))) as {
      access_token?: string;
      user_id?: string;
      device_id?: string;
      errcode?: string;
    };
    if (res.status === 403 || res.status === 401) throw new CallError('wrong_password');
    if (!res.ok || body.access_token === undefined || body.user_id === undefined || body.device_id === undefined) {
      throw new CallError('sign_in_failed', `HTTP ${res.status} ${body.errcode ?? ''}`);
    }
    const link = new StandaloneLink(baseUrl, body.access_token, body.user_id, body.device_id, opts.roomId);
    await link.ensureJoined(opts.via, opts.onWaiting, opts.serviceUrl);
    await link.startKeysIfEncrypted();
    return link;
  }

  /**
   * A guest (guest link): the page has no Matrix account of its own, only a session the service
   * gave it; it talks to the homeserver through the service's guest gateway, which lets it do
   * only what the call of its one room needs. Joins (let in directly) or knocks and waits.
   */
  static async guest(opts: {
    serviceUrl: string;
    session: string;
    userId: string;
    deviceId: string;
    roomId: string;
    expiresAt: string;
    onWaiting?: () => void;
  }): Promise<StandaloneLink> {
    const baseUrl = `${opts.serviceUrl.replace(/\/+$/, '')}/_causerie/v1/guest/client`;
    const link = new StandaloneLink(baseUrl, opts.session, opts.userId, opts.deviceId, opts.roomId);
    link.guestUntil = Date.parse(opts.expiresAt);
    await link.ensureJoined([], opts.onWaiting, opts.serviceUrl);
    await link.startKeysIfEncrypted();
    return link;
  }

  /** An encrypted room: this page becomes a full Matrix device (Rust crypto, loaded only now). */
  private async startKeysIfEncrypted(): Promise<void> {
    if (!(await this.roomEncrypted().catch(() => true))) return;
    const { startCryptoDevice } = await import('./standalone-crypto.ts');
    const device = await startCryptoDevice({
      baseUrl: this.baseUrl,
      accessToken: this.accessToken,
      userId: this.userId,
      deviceId: this.deviceId,
      roomId: this.roomId,
    });
    this.keys = device.keys;
  }

  private async call(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 15_000,
  ): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.accessToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new CallError('token_service_unreachable', `homeserver: ${errorDetail(err)}`);
    }
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw new CallError('unknown', `${method} ${path.split('?')[0] ?? ''} → ${res.status}`);
    return json;
  }

  /**
   * Joined already, or invited (accepts), or a room open to them; a room whose join rule is knock:
   * knocks and waits to be let in (joins once invited; refused when the knock is turned away).
   * Otherwise "not a member".
   */
  private async ensureJoined(via: string[], onWaiting?: () => void, serviceUrl?: string): Promise<void> {
    try {
      const m = await this.call(
        'GET',
        `/_matrix/client/v3/rooms/${enc(this.roomId)}/state/m.room.member/${enc(this.userId)}`,
      );
      if (m['membership'] === 'join') return;
    } catch {
      // Not readable: not joined.
    }
    const q = via.map((s) => `server_name=${enc(s)}`).join('&');
    const suffix = q === '' ? '' : `?${q}`;
    try {
      await this.call('POST', `/_matrix/client/v3/join/${enc(this.roomId)}${suffix}`, {});
      return;
    } catch {
      // Maybe a waiting room: knock.
    }
    try {
      await this.call('POST', `/_matrix/client/v3/knock/${enc(this.roomId)}${suffix}`, {
        reason: 'Asks to join the call',
      });
    } catch {
      throw new CallError('not_member', 'cannot join or knock');
    }
    onWaiting?.();
    await this.waitToBeLetIn(serviceUrl);
    try {
      await this.call('POST', `/_matrix/client/v3/join/${enc(this.roomId)}${suffix}`, {});
    } catch {
      throw new CallError('not_member', 'invited, but the join failed');
    }
  }

  /**
   * Waits until the knock is answered: asks the Causerie service (the bot sees the room; our own
   * homeserver may never hear of a refusal) every 1.5 s. Let in: resolves; turned away: refused.
   */
  private async waitToBeLetIn(serviceUrl: string | undefined): Promise<void> {
    if (serviceUrl === undefined) throw new CallError('not_member', 'no service to ask about the knock');
    // One OpenID token for the wait (the service caches its verification), a new one when refused.
    let token: OpenIdToken | undefined;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      let state: unknown;
      try {
        token ??= await this.openIdToken();
        const res = await fetch(`${serviceUrl}/_causerie/v1/knock_status`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ room_id: this.roomId, openid_token: token }),
          signal: AbortSignal.timeout(15_000),
        });
        if (res.status === 401) token = undefined;
        state = res.ok ? ((await res.json()) as { state?: unknown }).state : undefined;
      } catch {
        state = undefined; // asked again
      }
      if (state === 'admitted') return;
      if (state === 'refused') throw new CallError('knock_refused');
    }
  }

  /** Whether the room has `m.room.encryption` (404: no; any other failure is not a no). */
  async roomEncrypted(): Promise<boolean> {
    const res = await fetch(`${this.baseUrl}/_matrix/client/v3/rooms/${enc(this.roomId)}/state/m.room.encryption/`, {
      headers: { authorization: `Bearer ${this.accessToken}` },
      signal: AbortSignal.timeout(15_000),
    });
    if (res.status === 404) return false;
    if (!res.ok) throw new CallError('unknown', `reading the room's encryption → ${res.status}`);
    return true;
  }

  /** The room's name (none when it has none, or it cannot be read now). */
  async roomName(): Promise<string | undefined> {
    try {
      return roomNameFrom(await this.call('GET', `/_matrix/client/v3/rooms/${enc(this.roomId)}/state/m.room.name/`));
    } catch {
      return undefined;
    }
  }

  async members(): Promise<Map<string, MemberInfo>> {
    const res = await this.call('GET', `/_matrix/client/v3/rooms/${enc(this.roomId)}/members?membership=join`);
    return membersFrom(
      Array.isArray(res['chunk']) ? (res['chunk'] as { state_key?: unknown; content?: unknown }[]) : [],
    );
  }

  async avatar(mxc: string): Promise<string | undefined> {
    const m = /^mxc:\/\/([^/]+)\/([^/?#]+)$/.exec(mxc);
    if (m === null) return undefined;
    try {
      const res = await fetch(
        `${this.baseUrl}/_matrix/client/v1/media/download/${enc(m[1] ?? '')}/${enc(m[2] ?? '')}`,
        {
          headers: { authorization: `Bearer ${this.accessToken}` },
          signal: AbortSignal.timeout(15_000),
        },
      );
      return res.ok ? URL.createObjectURL(await res.blob()) : undefined;
    } catch {
      return undefined;
    }
  }

  async openIdToken(): Promise<OpenIdToken> {
    const t = await this.call('POST', `/_matrix/client/v3/user/${enc(this.userId)}/openid/request_token`, {});
    const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
    return {
      access_token: str(t['access_token']),
      token_type: str(t['token_type'], 'Bearer'),
      matrix_server_name: str(t['matrix_server_name']),
      expires_in: typeof t['expires_in'] === 'number' ? t['expires_in'] : 3600,
    };
  }

  async sendMembership(stateKey: string, content: Record<string, unknown>): Promise<string | undefined> {
    const res = await this.call(
      'PUT',
      `/_matrix/client/v3/rooms/${enc(this.roomId)}/state/${enc(CALL_MEMBER_EVENT)}/${enc(stateKey)}`,
      content,
    );
    return typeof res['event_id'] === 'string' ? res['event_id'] : undefined;
  }

  async scheduleLeave(stateKey: string, delayMs: number): Promise<string | undefined> {
    try {
      const res = await this.call(
        'PUT',
        `/_matrix/client/v3/rooms/${enc(this.roomId)}/state/${enc(CALL_MEMBER_EVENT)}/${enc(stateKey)}?org.matrix.msc4140.delay=${delayMs}`,
        {},
      );
      return typeof res['delay_id'] === 'string' ? res['delay_id'] : undefined;
    } catch {
      return undefined; // no delayed events on this homeserver
    }
  }

  private async delayed(delayId: string, action: 'restart' | 'cancel'): Promise<void> {
    await this.call('POST', `/_matrix/client/unstable/org.matrix.msc4140/delayed_events/${enc(delayId)}`, { action });
  }

  restartLeave(delayId: string): Promise<void> {
    return this.delayed(delayId, 'restart');
  }

  cancelLeave(delayId: string): Promise<void> {
    return this.delayed(delayId, 'cancel');
  }
}

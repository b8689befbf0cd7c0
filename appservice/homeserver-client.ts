/**
 * The client-server API as the appservice bot (as_token). Every call has a timeout; failures are
 * classified so callers can tell "the homeserver says no" from "the homeserver is unreachable".
 */
import { fetch } from 'undici';

export class HomeserverError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'HomeserverError';
  }
  /** The homeserver could not be reached or failed (not a definite answer about the request). */
  get transient(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }
}

export interface HomeserverClientOptions {
  url: string;
  asToken: string;
  timeoutMs?: number;
  /** Called when the homeserver answers again after failing (unreachable or 5xx). */
  onRecovered?: () => void;
}

const enc = encodeURIComponent;

export class HomeserverClient {
  private readonly base: string;
  private readonly timeoutMs: number;
  private failing = false;

  constructor(private readonly opts: HomeserverClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.opts.asToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      this.failing = true;
      throw new HomeserverError(0, undefined, `${method} ${path.split('?')[0] ?? ''}: ${(err as Error).message}`);
    }
    if (res.status >= 500) this.failing = true;
    else if (this.failing) {
      this.failing = false;
      this.opts.onRecovered?.();
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = {};
    }
    if (!res.ok) {
      const errcode = (json as { errcode?: unknown }).errcode;
      throw new HomeserverError(
        res.status,
        typeof errcode === 'string' ? errcode : undefined,
        `${method} ${path.split('?')[0] ?? ''} → ${res.status} ${typeof errcode === 'string' ? errcode : ''}`,
      );
    }
    return json as T;
  }

  /** The room's state events, undecoded: the caller decodes each (members wrote them). */
  roomState(roomId: string): Promise<unknown> {
    return this.request<unknown>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state`);
  }

  memberState(roomId: string, userId: string): Promise<Record<string, unknown>> {
    return this.request<Record<string, unknown>>(
      'GET',
      `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(userId)}`,
    );
  }

  /** Sends an event; `txnId` makes a retry of the same send idempotent. */
  async sendEvent(roomId: string, type: string, txnId: string, content: Record<string, unknown>): Promise<string> {
    const res = await this.request<{ event_id: string }>(
      'PUT',
      `/_matrix/client/v3/rooms/${enc(roomId)}/send/${enc(type)}/${enc(txnId)}`,
      content,
    );
    return res.event_id;
  }

  async sendState(roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<string> {
    const res = await this.request<{ event_id: string }>(
      'PUT',
      `/_matrix/client/v3/rooms/${enc(roomId)}/state/${enc(type)}/${enc(stateKey)}`,
      content,
    );
    return res.event_id;
  }

  /** Leaves a room, or declines an invite to it, with a reason members see. */
  async leaveRoom(roomId: string, reason: string): Promise<void> {
    await this.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { reason });
  }

  /** Asks the homeserver to re-send held transactions now instead of after its backoff. */
  async pingAppservice(appserviceId: string): Promise<void> {
    await this.request('POST', `/_matrix/client/v1/appservice/${enc(appserviceId)}/ping`, {});
  }

  async joinRoom(roomId: string, via: readonly string[]): Promise<void> {
    const q = via.map((s) => `server_name=${enc(s)}`).join('&');
    await this.request('POST', `/_matrix/client/v3/join/${enc(roomId)}${q === '' ? '' : `?${q}`}`, {});
  }
}

/** A room event as the homeserver hands it over (client or appservice API), once decoded. */
export type { MatrixEvent as MatrixStateEvent } from '../core/matrix-events.ts';

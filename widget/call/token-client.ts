/**
 * Gets the LiveKit URL and JWT from the Causerie service that served the page. The request follows
 * the membership the widget writes, because Element Call matches a LiveKit identity to a membership:
 * a per-device state membership (`_@user_DEVICE_m.call`) goes with `POST /sfu/get` (identity
 * `@user:DEVICE`); a sticky MatrixRTC member with `POST /get_token` (the hashed identity), falling back
 * to `/sfu/get` on an older service. The answer is decoded here, and every failure becomes a
 * CallError of the kind the person should be told.
 */
import type {
  DelayedLeaveWire,
  ErrorBody,
  GetTokenRequest,
  SfuGetRequest,
  TokenAnswer,
} from '../../core/token-wire.ts';
import { CallError, errorDetail } from '../core/errors.ts';
import type { MatrixLink } from './matrix-link.ts';

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** The delayed leave the service may send for us (MSC4140), when the homeserver scheduled one. */
export interface DelayedLeave {
  id: string;
  timeoutMs: number;
}

export interface TokenClientOptions {
  /** Base URL of the Causerie service (no trailing slash). */
  serviceUrl: string;
  link: Pick<MatrixLink, 'roomId' | 'userId' | 'deviceId' | 'openIdToken'>;
  /** Our MatrixRTC member id (one per session). */
  memberId: string;
  /**
   * The membership the widget writes: `state` (per-device state event, as Element Call writes it)
   * or `sticky` (`org.matrix.msc4143.rtc.member`). Decides the endpoint, hence the identity.
   */
  membership?: 'state' | 'sticky';
  fetch?: Fetch | undefined;
  timeoutMs?: number | undefined;
}

/** Maps a token service error answer (a Matrix-style error) to what the person should be told. */
export function tokenError(status: number, body: Partial<ErrorBody>): CallError {
  const reason = body.reason ?? '';
  if (status === 401) return new CallError('unauthorized', reason);
  if (status === 403 && reason === 'call_not_started') return new CallError('call_not_started');
  if (status === 403 || status === 404) return new CallError('not_member', reason);
  if (status >= 500 || status === 429) return new CallError('token_service_unreachable', `HTTP ${status}`);
  return new CallError('unknown', `HTTP ${status} ${String(body.errcode)}`);
}

/** The fields of an error body we read, from whatever JSON (or nothing) came back. */
function errorBody(json: unknown): Partial<ErrorBody> {
  const o = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  return {
    ...(typeof o['errcode'] === 'string' ? { errcode: o['errcode'] } : {}),
    ...(typeof o['reason'] === 'string' ? { reason: o['reason'] } : {}),
  };
}

function tokenAnswer(json: unknown): TokenAnswer | undefined {
  const o = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
  const { url, jwt } = o;
  return typeof url === 'string' && typeof jwt === 'string' ? { url, jwt } : undefined;
}

export class TokenClient {
  private readonly fetch: Fetch;
  private readonly timeoutMs: number;

  constructor(private readonly opts: TokenClientOptions) {
    // Called through a closure: the browser's fetch refuses to be called as a method of another object.
    this.fetch = opts.fetch ?? ((url, init) => fetch(url, init));
    this.timeoutMs = opts.timeoutMs ?? 15_000;
  }

  /** A token for the room, handing over the delayed leave when there is one. */
  async token(leave: DelayedLeave | undefined): Promise<TokenAnswer> {
    const { link, memberId } = this.opts;
    const openid = await link.openIdToken();
    const delay: DelayedLeaveWire = leave === undefined ? {} : { delay_id: leave.id, delay_timeout: leave.timeoutMs };
    const sfuGet: SfuGetRequest = { room: link.roomId, openid_token: openid, device_id: link.deviceId, ...delay };
    if ((this.opts.membership ?? 'state') === 'state') return this.answer(await this.post('/sfu/get', sfuGet));
    const getToken: GetTokenRequest = {
      room_id: link.roomId,
      slot_id: 'm.call#ROOM',
      openid_token: openid,
      member: { id: memberId, claimed_user_id: link.userId, claimed_device_id: link.deviceId },
      ...delay,
    };
    let res = await this.post('/get_token', getToken);
    if (res.status === 404) {
      const body = errorBody(await res.json().catch(() => ({})));
      // An older service without /get_token: fall back to /sfu/get (whose 404 is "unknown room").
      if (body.errcode !== 'M_UNRECOGNIZED') throw tokenError(404, body);
      res = await this.post('/sfu/get', sfuGet);
    }
    return this.answer(res);
  }

  private async answer(res: Response): Promise<TokenAnswer> {
    const json: unknown = await res.json().catch(() => ({}));
    if (!res.ok) throw tokenError(res.status, errorBody(json));
    const answer = tokenAnswer(json);
    if (answer === undefined) throw new CallError('token_service_unreachable', 'malformed answer');
    return answer;
  }

  private async post(path: string, body: GetTokenRequest | SfuGetRequest): Promise<Response> {
    try {
      return await this.fetch(`${this.opts.serviceUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new CallError('token_service_unreachable', errorDetail(err));
    }
  }
}

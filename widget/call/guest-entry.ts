/**
 * The guest page's first steps: is the guest link usable (asked before the name form, so a dead link
 * gets its own page), then redeem it under a name — the service makes a guest account for the room
 * and gives this page a session for its guest gateway. Loaded only when a page opens a guest link.
 */
import { CallError, errorDetail, type CallErrorKind } from '../core/errors.ts';
import type { Lang } from '../core/url-params.ts';
import type { GuestSessionWire } from '../../core/token-wire.ts';

const REFUSALS: readonly CallErrorKind[] = [
  'guest_link_expired',
  'guest_link_revoked',
  'guest_link_used',
  'guest_link_invalid',
];

async function post(serviceUrl: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(`${serviceUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
  } catch (err) {
    throw new CallError('token_service_unreachable', errorDetail(err));
  }
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.ok) return json;
  const reason = typeof json['reason'] === 'string' ? json['reason'] : '';
  const refusal = REFUSALS.find((k) => k === reason);
  if (refusal !== undefined) throw new CallError(refusal);
  if (reason === 'bad_name') throw new CallError('bad_guest_name');
  throw new CallError(res.status >= 500 || res.status === 429 ? 'token_service_unreachable' : 'unknown', reason);
}

/** The room a usable link is for; a refusal (expired, withdrawn, used, not valid) otherwise. */
export async function checkGuestLink(serviceUrl: string, link: string): Promise<{ roomId: string }> {
  const answer = await post(serviceUrl, '/_causerie/v1/guest/check', { link });
  if (typeof answer['room_id'] !== 'string') throw new CallError('unknown', 'no room in the answer');
  return { roomId: answer['room_id'] };
}

export async function redeemGuestLink(
  serviceUrl: string,
  link: string,
  name: string,
  lang: Lang,
): Promise<GuestSessionWire> {
  const answer = await post(serviceUrl, '/_causerie/v1/guest/redeem', { link, name, lang });
  const str = (k: string): string => (typeof answer[k] === 'string' ? answer[k] : '');
  if (str('session') === '' || str('user_id') === '') throw new CallError('unknown', 'no session in the answer');
  return {
    user_id: str('user_id'),
    device_id: str('device_id'),
    room_id: str('room_id'),
    session: str('session'),
    expires_at: str('expires_at'),
    admitted: answer['admitted'] === true,
  };
}

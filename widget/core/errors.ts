/**
 * The widget's one error type. Every failure a person can meet is a CallError of a known kind; the
 * UI shows that kind's message (core/i18n.ts, French and English: a `Record` over the kinds, so a
 * new kind without its messages does not compile) and offers what may help. Never a blank screen,
 * never the technical detail (kept for the console).
 */

export type CallErrorKind =
  // Joining the call (token service, LiveKit, the host client).
  | 'not_member'
  | 'call_not_started'
  | 'unauthorized'
  | 'token_service_unreachable'
  | 'livekit_unreachable'
  | 'no_media_permission'
  | 'removed'
  | 'bad_params'
  | 'widget_api'
  // An encrypted room (or a host asking for encryption) where the keys cannot be carried: the host
  // refused the to-device capabilities or cannot encrypt, or the standalone page (no crypto yet).
  | 'e2ee_unavailable'
  // The waiting room: the knock was turned away.
  | 'knock_refused'
  // Guest links: the link cannot be used (expired, withdrawn, used up, not ours), no name given,
  // or the guest's time is over.
  | 'guest_link_expired'
  | 'guest_link_revoked'
  | 'guest_link_used'
  | 'guest_link_invalid'
  | 'bad_guest_name'
  | 'guest_ended'
  // A moderation the service refused (not enough power, or the person has as much as us).
  | 'not_moderator'
  // Signing in (standalone mode), shown in the sign-in form.
  | 'bad_user_id'
  | 'homeserver_unreachable'
  | 'wrong_password'
  | 'sign_in_failed'
  | 'unknown';

/** What the person can do about a failure from its screen: try again, join again, or nothing. */
export type Recovery = 'retry' | 'rejoin' | 'none';

const RECOVERY: Record<CallErrorKind, Recovery> = {
  not_member: 'none',
  call_not_started: 'none',
  unauthorized: 'none',
  token_service_unreachable: 'retry',
  livekit_unreachable: 'retry',
  no_media_permission: 'none',
  removed: 'rejoin',
  bad_params: 'none',
  widget_api: 'none',
  e2ee_unavailable: 'none',
  not_moderator: 'none',
  knock_refused: 'none',
  guest_link_expired: 'none',
  guest_link_revoked: 'none',
  guest_link_used: 'none',
  guest_link_invalid: 'none',
  bad_guest_name: 'none',
  guest_ended: 'none',
  bad_user_id: 'none',
  homeserver_unreachable: 'none',
  wrong_password: 'none',
  sign_in_failed: 'none',
  unknown: 'retry',
};

export class CallError extends Error {
  constructor(
    readonly kind: CallErrorKind,
    readonly detail = '',
  ) {
    super(`${kind}${detail === '' ? '' : `: ${detail}`}`);
    this.name = 'CallError';
  }

  get recovery(): Recovery {
    return RECOVERY[this.kind];
  }
}

/** Any failure as a CallError: ours as they are, anything else as `unknown` (its message as detail). */
export function toCallError(err: unknown): CallError {
  return err instanceof CallError ? err : new CallError('unknown', errorDetail(err));
}

/** What a caught failure says, for a CallError's detail. */
export function errorDetail(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The name of a DOMException-like failure (`NotAllowedError`: a browser refusing media or a picker). */
export function errorName(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('name' in err)) return undefined;
  return typeof err.name === 'string' ? err.name : undefined;
}

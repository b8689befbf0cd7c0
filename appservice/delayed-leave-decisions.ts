/**
 * The pure core of delegated delayed leaves (delayed-leaves.ts does the I/O): what to do about a
 * leave given what LiveKit says about its identity now, how long to wait before asking again, and
 * how often to restart a delay that must not fire.
 */
import type { ParticipantPresence } from '../livekit/errors.ts';

/** What was done about a leave (for logs and tests). */
export type LeaveOutcome = 'sent' | 'kept' | 'deferred' | 'none';

export type LeaveDecision =
  | { do: 'send' }
  /** A session of this identity is connected: it holds the delay now. */
  | { do: 'keep'; sid: string }
  /** Registered moments ago and not seen joining: its session may still be connecting. */
  | { do: 'wait'; ms: number }
  /** LiveKit could not tell. `stopKeepAlive` when the session that held the delay is the one that left. */
  | { do: 'retry'; stopKeepAlive: boolean };

/**
 * The core decision for a delegated leave, given what LiveKit says about its identity now.
 * `leavingSid` is the session LiveKit reported gone (none at start-up).
 */
export function decideLeave(
  row: { participantSid: string | null; ageMs: number },
  leavingSid: string | undefined,
  presence: ParticipantPresence | 'unknown',
  connectGraceMs: number,
): LeaveDecision {
  if (presence === 'unknown') {
    return { do: 'retry', stopKeepAlive: leavingSid !== undefined && row.participantSid === leavingSid };
  }
  // LiveKit may still list the session whose departure it just reported: that one is gone.
  if (presence.present && presence.sid !== leavingSid) return { do: 'keep', sid: presence.sid };
  if (row.participantSid === null && row.ageMs < connectGraceMs) {
    return { do: 'wait', ms: Math.max(0, connectGraceMs - row.ageMs) };
  }
  return { do: 'send' };
}

/** Failed attempts on one leave so far. */
export interface Attempts {
  /** Consecutive times we could not decide (LiveKit or database unavailable). */
  unknown: number;
  /** Failed sends of this leave. */
  send: number;
}

/** The wait before attempt `attempt + 1`: `baseMs` doubled per attempt, at most `maxMs`. */
export function retryDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt, 20)));
}

/** How often a kept delay is restarted: at half its timeout, at most once a second. */
export function keepAliveIntervalMs(delayTimeoutMs: number): number {
  return Math.max(1_000, Math.floor(delayTimeoutMs / 2));
}

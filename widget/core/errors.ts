/**
 * Failures the widget can meet, each with a code the UI turns into a clear message (never a blank
 * screen) and whether retrying may help.
 */
import type { ErrorCode } from './i18n.ts';

export class CallError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail = '',
  ) {
    super(`${code}${detail === '' ? '' : `: ${detail}`}`);
    this.name = 'CallError';
  }

  get retryable(): boolean {
    return this.code === 'token_service_unreachable' || this.code === 'livekit_unreachable' || this.code === 'unknown';
  }
}

/** Maps a token service answer (Matrix-style error) to what the user should be told. */
export function tokenError(status: number, body: { errcode?: unknown; reason?: unknown }): CallError {
  const reason = typeof body.reason === 'string' ? body.reason : '';
  if (status === 401) return new CallError('unauthorized', reason);
  if (status === 403 && reason === 'call_not_started') return new CallError('call_not_started');
  if (status === 403 || status === 404) return new CallError('not_member', reason);
  if (status >= 500 || status === 429) return new CallError('token_service_unreachable', `HTTP ${status}`);
  return new CallError('unknown', `HTTP ${status} ${String(body.errcode)}`);
}

/**
 * One error type for every failure a client can see. Each kind has its Matrix errcode and HTTP
 * status in one exhaustive map; code throws an `ApiError` (through the named constructors below) and
 * one middleware (server/http.ts) writes `{errcode, error, reason}` with the status. Messages are
 * bland and safe to show; details go to the log only.
 */

/** Every kind of failure, with the errcode and status it answers. */
export const errorKinds = {
  not_json: { errcode: 'M_NOT_JSON', status: 400 },
  bad_json: { errcode: 'M_BAD_JSON', status: 400 },
  invalid_param: { errcode: 'M_INVALID_PARAM', status: 400 },
  unauthorized: { errcode: 'M_UNAUTHORIZED', status: 401 },
  forbidden: { errcode: 'M_FORBIDDEN', status: 403 },
  not_found: { errcode: 'M_NOT_FOUND', status: 404 },
  unrecognized: { errcode: 'M_UNRECOGNIZED', status: 404 },
  method_not_allowed: { errcode: 'M_UNRECOGNIZED', status: 405 },
  too_large: { errcode: 'M_TOO_LARGE', status: 413 },
  unsupported_encoding: { errcode: 'M_UNKNOWN', status: 415 },
  rate_limited: { errcode: 'M_LIMIT_EXCEEDED', status: 429 },
  internal: { errcode: 'M_UNKNOWN', status: 500 },
  /** A server we asked (a homeserver, LiveKit) failed or answered nonsense. */
  upstream_failed: { errcode: 'M_UNKNOWN', status: 502 },
  /** One of our own dependencies is away (database, our homeserver, LiveKit): try again shortly. */
  unavailable: { errcode: 'M_UNKNOWN', status: 503 },
  /** A server we asked did not answer in time. */
  upstream_timeout: { errcode: 'M_UNKNOWN', status: 504 },
} as const satisfies Record<string, { errcode: `M_${string}`; status: number }>;

export type ErrorKind = keyof typeof errorKinds;
export type Errcode = (typeof errorKinds)[ErrorKind]['errcode'];

export class ApiError extends Error {
  readonly errcode: Errcode;
  readonly status: number;
  /** Machine-readable reason for logs, metrics, the audit trail, and clients. */
  readonly reason: string;
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly kind: ErrorKind,
    message: string,
    options: { reason?: string; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.errcode = errorKinds[kind].errcode;
    this.status = errorKinds[kind].status;
    this.reason = options.reason ?? kind;
    this.retryAfterMs = options.retryAfterMs;
  }

  body(): Record<string, unknown> {
    return {
      errcode: this.errcode,
      error: this.message,
      // Why, for clients to show the right message (e.g. "call not started" vs "not a member").
      reason: this.reason,
      ...(this.retryAfterMs === undefined ? {} : { retry_after_ms: this.retryAfterMs }),
    };
  }
}

export const notJson = (message = 'The request body is not JSON'): ApiError =>
  new ApiError('not_json', message, { reason: 'not_json' });
export const badJson = (message: string): ApiError => new ApiError('bad_json', message, { reason: 'bad_json' });
export const invalidParam = (message: string, reason = 'invalid_param'): ApiError =>
  new ApiError('invalid_param', message, { reason });
export const unauthorized = (message: string, reason: string): ApiError =>
  new ApiError('unauthorized', message, { reason });
export const forbidden = (message: string, reason: string): ApiError => new ApiError('forbidden', message, { reason });
export const unrecognized = (message = 'Unrecognized request'): ApiError =>
  new ApiError('unrecognized', message, { reason: 'unrecognized' });
export const tooLarge = (limitBytes: number): ApiError =>
  new ApiError('too_large', `The request body is larger than ${limitBytes} bytes`, { reason: 'too_large' });
export const rateLimited = (retryAfterMs: number): ApiError =>
  new ApiError('rate_limited', 'Too many requests', { reason: 'rate_limited', retryAfterMs });
export const internal = (): ApiError => new ApiError('internal', 'Internal error', { reason: 'internal' });
/** A server we asked failed or answered nonsense (502). */
export const upstreamFailed = (message: string, reason: string): ApiError =>
  new ApiError('upstream_failed', message, { reason });
/** A server we asked did not answer in time (504). */
export const upstreamTimeout = (message: string, reason: string): ApiError =>
  new ApiError('upstream_timeout', message, { reason });
/** One of our own dependencies is away (503). */
export const unavailable = (
  reason: string,
  message = 'The call service is temporarily unavailable; try again shortly',
): ApiError => new ApiError('unavailable', message, { reason });

/**
 * One error type for every failure a client can see, with its Matrix errcode and HTTP status
 * mapped in one place. Messages are bland and safe to show; details go to the log only.
 */
export const errcodeStatus = {
  M_NOT_JSON: 400,
  M_BAD_JSON: 400,
  M_MISSING_PARAM: 400,
  M_INVALID_PARAM: 400,
  M_UNAUTHORIZED: 401,
  M_FORBIDDEN: 403,
  M_NOT_FOUND: 404,
  M_TOO_LARGE: 413,
  M_LIMIT_EXCEEDED: 429,
  M_UNRECOGNIZED: 404,
  M_UNKNOWN: 500,
} as const;

export type Errcode = keyof typeof errcodeStatus;

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly errcode: Errcode,
    message: string,
    options: {
      /** Overrides the errcode's usual status (502/504 for an unreachable homeserver). */
      status?: number;
      /** Machine-readable reason for logs and the audit trail. */
      reason?: string;
      retryAfterMs?: number;
    } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = options.status ?? errcodeStatus[errcode];
    this.reason = options.reason ?? errcode.toLowerCase();
    this.retryAfterMs = options.retryAfterMs;
  }
  readonly reason: string;
  readonly retryAfterMs: number | undefined;

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

export const forbidden = (message: string, reason: string): ApiError =>
  new ApiError('M_FORBIDDEN', message, { reason });
export const badJson = (message: string): ApiError => new ApiError('M_BAD_JSON', message, { reason: 'bad_json' });
export const invalidParam = (message: string, reason = 'invalid_param'): ApiError =>
  new ApiError('M_INVALID_PARAM', message, { reason });

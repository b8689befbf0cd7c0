/**
 * Token-bucket rate limiting per key (client address). Buckets refill continuously; idle buckets are
 * dropped so the map stays small.
 */
export interface RateLimitOptions {
  perSecond: number;
  burst: number;
  now?: () => number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly now: () => number;
  private lastSweep = 0;

  constructor(private readonly opts: RateLimitOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** 0 when allowed; otherwise how many ms until one request would be. */
  take(key: string): number {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.opts.burst, at: now };
    b.tokens = Math.min(this.opts.burst, b.tokens + ((now - b.at) / 1000) * this.opts.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (now - this.lastSweep > 60_000) this.sweep(now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) / this.opts.perSecond) * 1000);
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    const full = (this.opts.burst / this.opts.perSecond) * 1000;
    for (const [k, b] of this.buckets) if (now - b.at > full) this.buckets.delete(k);
  }
}

/**
 * Token-bucket rate limiting per key (client address). Buckets refill continuously; idle buckets are
 * dropped so the map stays small.
 */
import { isIP } from 'node:net';

import { formatIPv6, mappedIPv4, parseIPv6 } from '../core/ip-addresses.ts';

/**
 * The bucket a client address counts against. An IPv6 client usually holds a whole /64 (SLAAC,
 * privacy addresses), so keying by full address would give it 2^64 buckets: key by the /64.
 * IPv4-mapped addresses (a dual-stack socket) count as the IPv4 address they are.
 */
export function rateLimitKey(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const words = parseIPv6(ip);
  if (words === undefined) return ip;
  return mappedIPv4(words) ?? `${formatIPv6([...words.slice(0, 4), 0, 0, 0, 0])}/64`;
}

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

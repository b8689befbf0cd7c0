import { describe, expect, it } from 'vitest';

import { RateLimiter, rateLimitKey } from '../../server/rate-limit.ts';

describe('rate-limit keys', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['::ffff:cb00:7109', '203.0.113.9'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8::/64'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::/64'],
    ['2001:db8:0:0:1::', '2001:db8::/64'],
    ['2001:db8:a:b:c:d:1.2.3.4', '2001:db8:a:b::/64'],
    ['::1', '::/64'],
    ['unknown', 'unknown'],
  ])('%s counts against %s', (ip, key) => {
    expect(rateLimitKey(ip)).toBe(key);
  });

  it('an IPv6 client cannot escape its limit by rotating addresses within its /64', () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 2, now: () => 0 });
    const take = (ip: string) => limiter.take(rateLimitKey(ip));
    expect(take('2001:db8:5:6::1')).toBe(0);
    expect(take('2001:db8:5:6::2')).toBe(0);
    expect(take('2001:db8:5:6:ffff::3')).toBeGreaterThan(0);
    expect(take('2001:db8:5:7::1')).toBe(0);
  });
});

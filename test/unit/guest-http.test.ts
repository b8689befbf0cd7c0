/**
 * The guest routes' HTTP edge: opening links (check, redeem) has its own, stricter rate per address
 * than making them; guessing gateway sessions costs a rate-limited request each.
 */
import type { AddressInfo } from 'node:net';

import { describe, expect, it } from 'vitest';

import { createLogger } from '../../core/log.ts';
import { guestGatewayRoutes } from '../../server/guest-gateway.ts';
import { guestLinkRoutes } from '../../server/guest-links.ts';
import { createHttpApp } from '../../server/http.ts';
import { RateLimiter } from '../../server/rate-limit.ts';

const answered =
  <T>(value: T) =>
  () =>
    Promise.resolve(value);

async function serve(general: RateLimiter, redeem: RateLimiter) {
  const links = {
    create: answered({ link_id: 'l', url: 'u', expires_at: 'e' }),
    list: answered({ links: [] }),
    revoke: answered({ revoked: true, guests_removed: 0 }),
    check: answered({ room_id: '!r:a.example', expires_at: 'e', admit: true }),
    redeem: answered({
      user_id: '@g:a.example',
      device_id: 'D',
      room_id: '!r:a.example',
      session: 's',
      expires_at: 'e',
      admitted: true,
    }),
  };
  const app = createHttpApp({
    db: { query: () => Promise.resolve([]) },
    routers: [
      guestLinkRoutes(links, general, redeem),
      guestGatewayRoutes(
        { homeserverUrl: 'http://127.0.0.1:9', sessions: { session: answered(undefined) }, log: createLogger('test') },
        general,
      ),
    ],
    trustProxy: false,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise((resolve) => server.close(resolve)) };
}

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

describe('guest routes at the HTTP edge', () => {
  it('opening links is limited per address on its own rate: 429 M_LIMIT_EXCEEDED, while making links still works', async () => {
    let now = 0;
    const general = new RateLimiter({ perSecond: 100, burst: 100, now: () => now });
    const redeem = new RateLimiter({ perSecond: 0.5, burst: 2, now: () => now });
    const { url, close } = await serve(general, redeem);
    try {
      expect((await post(`${url}/_causerie/v1/guest/check`, { link: 'x.y' })).status).toBe(200);
      expect((await post(`${url}/_causerie/v1/guest/redeem`, { link: 'x.y', name: 'Eve' })).status).toBe(200);
      const limited = await post(`${url}/_causerie/v1/guest/redeem`, { link: 'x.y', name: 'Eve' });
      expect(limited.status).toBe(429);
      expect(await limited.json()).toMatchObject({ errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 2000 });
      const making = await post(`${url}/_causerie/v1/guest_links`, {
        room_id: '!r:a.example',
        openid_token: { access_token: 't', matrix_server_name: 'a.example' },
      });
      expect(making.status).toBe(200);
      now = 2_000;
      expect((await post(`${url}/_causerie/v1/guest/check`, { link: 'x.y' })).status).toBe(200);
      // Bad bodies are Matrix errors.
      now = 10_000;
      const bad = await post(`${url}/_causerie/v1/guest/redeem`, { link: 'x.y' });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ errcode: 'M_BAD_JSON' });
    } finally {
      await close();
    }
  });

  it('unknown gateway sessions get 401 M_UNKNOWN_TOKEN, then 429 past the address’s burst', async () => {
    const general = new RateLimiter({ perSecond: 0.001, burst: 2, now: () => 0 });
    const { url, close } = await serve(general, new RateLimiter({ perSecond: 1, burst: 1 }));
    try {
      const guess = () =>
        fetch(`${url}/_causerie/v1/guest/client/_matrix/client/v3/account/whoami`, {
          headers: { authorization: 'Bearer abcdefghijklmnopqrstuvwxyz' },
        });
      const first = await guess();
      expect(first.status).toBe(401);
      expect(await first.json()).toMatchObject({ errcode: 'M_UNKNOWN_TOKEN' });
      expect((await guess()).status).toBe(401);
      expect((await guess()).status).toBe(429);
    } finally {
      await close();
    }
  });
});

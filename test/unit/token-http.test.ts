import type { AddressInfo } from 'node:net';

import { describe, expect, it, vi } from 'vitest';

import { parsePowerLevels, type RoomView } from '../../core/room-model.ts';
import { ApiError } from '../../core/errors.ts';
import { createHttpApp } from '../../server/http.ts';
import { createLogger } from '../../core/log.ts';
import { RateLimiter } from '../../server/rate-limit.ts';
import { tokenRoutes } from '../../server/token-api.ts';
import { TokenService, type TokenServiceOptions } from '../../server/token-service.ts';

const body = {
  room: '!r:a.example',
  openid_token: { access_token: 't', token_type: 'Bearer', matrix_server_name: 'b.example', expires_in: 3600 },
  device_id: 'DEV',
};

async function serve(
  limiter: RateLimiter,
  issue: () => Promise<{ url: string; jwt: string }>,
  trustProxy: boolean | number = false,
) {
  const app = createHttpApp({
    db: { query: () => Promise.resolve([]) },
    routers: [tokenRoutes({ issue }, limiter)],
    trustProxy,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('rate limiting of the token endpoints', () => {
  it('answers 429 M_LIMIT_EXCEEDED with retry_after_ms once a client exceeds its burst, and serves it again later', async () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 1, burst: 2, now: () => now });
    const { url, close } = await serve(limiter, () => Promise.resolve({ url: 'ws://lk', jwt: 'j' }));
    try {
      const post = () =>
        fetch(`${url}/sfu/get`, {
          method: 'POST',
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        });
      expect((await post()).status).toBe(200);
      expect((await post()).status).toBe(200);
      const limited = await post();
      expect(limited.status).toBe(429);
      expect(limited.headers.get('access-control-allow-origin')).toBe('*');
      expect(await limited.json()).toMatchObject({ errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 1000 });
      now = 1_000;
      expect((await post()).status).toBe(200);
    } finally {
      await close();
    }
  });
});

describe('rate limiting behind a reverse proxy', () => {
  it('with trust_proxy, clients behind one proxy get a bucket each; without it, a forged X-Forwarded-For gains nothing', async () => {
    for (const [trust, expected] of [
      [1, 200],
      [false, 429],
    ] as const) {
      const limiter = new RateLimiter({ perSecond: 1, burst: 1, now: () => 0 });
      const { url, close } = await serve(limiter, () => Promise.resolve({ url: 'ws://lk', jwt: 'j' }), trust);
      try {
        const post = (client: string) =>
          fetch(`${url}/sfu/get`, {
            method: 'POST',
            body: JSON.stringify(body),
            headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
          });
        expect((await post('198.51.100.1')).status).toBe(200);
        expect((await post('198.51.100.2')).status).toBe(expected);
      } finally {
        await close();
      }
    }
  });
});

describe('homeserver allow and deny lists', () => {
  const room: RoomView = {
    roomId: '!r:a.example',
    roomVersion: '12',
    creators: new Set(),
    members: new Map([['@bob:b.example', { membership: 'join', displayname: undefined }]]),
    powerLevels: parsePowerLevels({}),
  };
  const options = (allow: string[], deny: string[]): TokenServiceOptions => ({
    livekitUrl: 'ws://lk',
    apiKey: 'k',
    apiSecret: 's'.repeat(32),
    ttlSeconds: 900,
    allowServers: allow,
    denyServers: deny,
    policy: {
      localServer: 'a.example',
      fullAccessServers: ['a.example'],
      remoteUsers: 'publish',
    },
  });
  const deps = () => ({
    verifier: { verify: vi.fn(() => Promise.resolve('@bob:b.example')) },
    rooms: {
      get: vi.fn(() => Promise.resolve(room)),
      confirmMember: vi.fn(() => Promise.resolve(room)),
      stale: () => undefined,
    },
    identities: { record: vi.fn(() => Promise.resolve()) },
    delayedLeaves: { register: vi.fn(() => Promise.resolve()) },
    livekitRooms: { ensure: vi.fn(() => Promise.resolve('exists' as const)) },
    audit: { record: vi.fn() },
    db: { query: vi.fn(() => Promise.resolve([])) },
    log: createLogger('test', () => undefined),
  });
  const request = {
    endpoint: 'sfu_get' as const,
    roomId: '!r:a.example',
    slotId: 'm.call#ROOM',
    openIdToken: body.openid_token,
    deviceId: 'DEV',
    memberId: undefined,
    claimedUserId: undefined,
    delayedLeave: undefined,
  };

  it.each([
    ['a deny-listed homeserver', [], ['b.example']],
    ['a homeserver missing from a closed-federation allow list', ['a.example', 'c.example'], []],
  ])('refuses %s before any network call', async (_what, allow, deny) => {
    const d = deps();
    const err = await new TokenService(d, options(allow, deny)).issue(request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ errcode: 'M_FORBIDDEN', reason: 'server_not_allowed' });
    expect(d.verifier.verify).not.toHaveBeenCalled();
    // Nobody was verified: logged and counted, not written to the audit trail anyone could fill.
    expect(d.audit.record).not.toHaveBeenCalled();
  });

  it('serves an allow-listed homeserver', async () => {
    const d = deps();
    await expect(new TokenService(d, options(['b.example'], [])).issue(request)).resolves.toMatchObject({
      url: 'ws://lk',
    });
    expect(d.verifier.verify).toHaveBeenCalledTimes(1);
  });
});

import { describe, expect, it, vi } from 'vitest';

import { ApiError } from '../../core/errors.ts';
import type { JsonResponse } from '../../federation/federation-http.ts';
import { OpenIdVerifier } from '../../federation/openid-verify.ts';
import type { FederationEndpoint } from '../../federation/server-discovery.ts';

const endpoint = (serverName: string): FederationEndpoint => ({
  serverName,
  host: serverName,
  port: 8448,
  addresses: ['93.184.216.34'],
});

function verifier(answer: (token: string) => JsonResponse | Promise<JsonResponse>, now = () => 0) {
  const getJson = vi.fn((_ep: FederationEndpoint, path: string) => {
    const token = new URL(`https://x${path}`).searchParams.get('access_token') ?? '';
    return Promise.resolve(answer(token));
  });
  const resolve = vi.fn((name: string) => Promise.resolve(endpoint(name)));
  return { v: new OpenIdVerifier({ resolve, getJson, now }), getJson, resolve };
}

describe('OpenID verification', () => {
  it('asks the named server’s userinfo and returns its user', async () => {
    const { v, getJson } = verifier((t) =>
      t === 'good' ? { status: 200, body: { sub: '@bob:b.example' } } : { status: 401, body: {} },
    );
    await expect(v.verify({ access_token: 'good', matrix_server_name: 'b.example', expires_in: 3600 })).resolves.toBe(
      '@bob:b.example',
    );
    expect(getJson.mock.calls[0]?.[1]).toBe('/_matrix/federation/v1/openid/userinfo?access_token=good');
  });

  it('refuses a user id of another server than the one asked (a server vouching for someone else)', async () => {
    const { v } = verifier(() => ({ status: 200, body: { sub: '@admin:a.example' } }));
    const err = await v
      .verify({ access_token: 't', matrix_server_name: 'b.example', expires_in: 3600 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ errcode: 'M_UNAUTHORIZED', reason: 'openid_wrong_server' });
  });

  it.each([{ sub: 'bob' }, { sub: 12 }, {}, null])('refuses a malformed answer %j', async (body) => {
    const { v } = verifier(() => ({ status: 200, body }));
    await expect(v.verify({ access_token: 't', matrix_server_name: 'b.example' })).rejects.toMatchObject({
      errcode: 'M_UNAUTHORIZED',
    });
  });

  it('maps a rejected token to 401 and a failing server to 502', async () => {
    await expect(
      verifier(() => ({ status: 401, body: { errcode: 'M_UNKNOWN_TOKEN' } })).v.verify({
        access_token: 't',
        matrix_server_name: 'b.example',
      }),
    ).rejects.toMatchObject({
      status: 401,
      errcode: 'M_UNAUTHORIZED',
    });
    await expect(
      verifier(() => ({ status: 500, body: {} })).v.verify({ access_token: 't', matrix_server_name: 'b.example' }),
    ).rejects.toMatchObject({ status: 502 });
  });

  it('caches a verification until shortly before the token expires, one request for concurrent callers', async () => {
    let now = 0;
    const { v, getJson } = verifier(
      () => ({ status: 200, body: { sub: '@bob:b.example' } }),
      () => now,
    );
    const token = { access_token: 'tok', matrix_server_name: 'b.example', expires_in: 120 };
    await Promise.all([v.verify(token), v.verify(token), v.verify(token)]);
    expect(getJson).toHaveBeenCalledTimes(1);
    now = 80_000;
    await v.verify(token);
    expect(getJson).toHaveBeenCalledTimes(1);
    now = 95_000; // past expires_in minus the 30 s margin
    await v.verify(token);
    expect(getJson).toHaveBeenCalledTimes(2);
  });

  it('does not keep a network failure: the next request asks again', async () => {
    let fail = true;
    const getJson = vi.fn(() => {
      if (fail) return Promise.reject(new ApiError('upstream_failed', 'unreachable'));
      return Promise.resolve({ status: 200, body: { sub: '@bob:b.example' } });
    });
    const v = new OpenIdVerifier({ resolve: (n) => Promise.resolve(endpoint(n)), getJson });
    const token = { access_token: 'tok', matrix_server_name: 'b.example', expires_in: 3600 };
    await expect(v.verify(token)).rejects.toMatchObject({ status: 502 });
    fail = false;
    await expect(v.verify(token)).resolves.toBe('@bob:b.example');
  });

  it('keeps the same token for different servers apart', async () => {
    const { v } = verifier(() => ({ status: 200, body: { sub: '@bob:b.example' } }));
    await v.verify({ access_token: 'same', matrix_server_name: 'b.example', expires_in: 3600 });
    await expect(
      v.verify({ access_token: 'same', matrix_server_name: 'a.example', expires_in: 3600 }),
    ).rejects.toMatchObject({ errcode: 'M_UNAUTHORIZED' });
  });

  it('trusts a verification 5 minutes at most, whatever expires_in the client claims', async () => {
    let now = 0;
    const { v, getJson } = verifier(
      () => ({ status: 200, body: { sub: '@bob:b.example' } }),
      () => now,
    );
    const token = { access_token: 'long', matrix_server_name: 'b.example', expires_in: 10 * 365 * 86_400 };
    await v.verify(token);
    now = 299_000;
    await v.verify(token);
    expect(getJson).toHaveBeenCalledTimes(1);
    now = 301_000;
    await v.verify(token);
    expect(getJson).toHaveBeenCalledTimes(2);
  });
});

import { describe, expect, it } from 'vitest';

import { asUser, registerUser } from '../../scripts/stack/clients/matrix.ts';
import { homeserver, stackFetch } from '../../scripts/stack/clients/env.ts';

interface OpenIdToken {
  access_token: string;
  token_type: string;
  matrix_server_name: string;
  expires_in: number;
}

const userinfo = (federationUrl: string, token: string) =>
  stackFetch(`${federationUrl}/_matrix/federation/v1/openid/userinfo?access_token=${encodeURIComponent(token)}`);

describe('OpenID tokens (what the token service verifies)', () => {
  it('a user on B gets an OpenID token from B, and B answers userinfo over federation TLS with their id', async () => {
    const bob = await registerUser('b');
    const token = await asUser<OpenIdToken>(
      bob,
      'POST',
      `/_matrix/client/v3/user/${encodeURIComponent(bob.userId)}/openid/request_token`,
      {},
    );
    expect(token.token_type).toBe('Bearer');
    expect(token.matrix_server_name).toBe(homeserver('b').server_name);
    expect(token.expires_in).toBeGreaterThan(0);

    const res = await userinfo(homeserver('b').federation_url, token.access_token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: bob.userId });
  });

  it('B refuses a token it never issued, and A does not know B’s tokens', async () => {
    const bob = await registerUser('b');
    const token = await asUser<OpenIdToken>(
      bob,
      'POST',
      `/_matrix/client/v3/user/${encodeURIComponent(bob.userId)}/openid/request_token`,
      {},
    );

    const unknown = await userinfo(homeserver('b').federation_url, 'not-a-token');
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { errcode: string }).errcode).toBe('M_UNKNOWN_TOKEN');

    const wrongServer = await userinfo(homeserver('a').federation_url, token.access_token);
    expect(wrongServer.status).toBe(401);
  });
});

/**
 * Started as lk-jwt-service is (its environment variables, no config file), the service passes the
 * token tests that apply to it: tokens for verified users only, in lk-jwt-service's wire format
 * and identities; full-access users start calls, others join running ones; the same errors, CORS
 * and delegated-leave answers as the full service.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { livekitIdentityForMember, livekitRoomAlias } from '../../core/livekit-names.ts';
import { jwtClaims, livekitApi, openIdToken, postToService, sfuGet } from '../../scripts/stack/clients/calls.ts';
import { homeserver, stackEnv, stackFetch } from '../../scripts/stack/clients/env.ts';
import { createRoom, eventually, registerUser, type TestUser } from '../../scripts/stack/clients/matrix.ts';
import { livekitDev } from '../../scripts/stack/layout.ts';
import { tlsCert } from '../../scripts/stack/synapse.ts';

const bin = fileURLToPath(new URL('../../bin/causerie', import.meta.url));
const url = 'http://127.0.0.1:8487';
let service: ChildProcess;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  service = spawn(bin, ['start'], {
    stdio: 'ignore',
    env: {
      ...process.env,
      LIVEKIT_URL: stackEnv().livekit.url,
      LIVEKIT_KEY: livekitDev.apiKey,
      LIVEKIT_SECRET: livekitDev.apiSecret,
      LIVEKIT_JWT_BIND: '127.0.0.1:8487',
      LIVEKIT_FULL_ACCESS_HOMESERVERS: homeserver('a').server_name,
      // The stack's homeservers: loopback, self-signed certificate.
      CAUSERIE_PRIVATE_ADDRESS_SERVERS: `${homeserver('a').server_name},${homeserver('b').server_name}`,
      CAUSERIE_FEDERATION_CA_FILE: tlsCert,
    },
  });
  await eventually(
    'the token-only service',
    async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true ? true : undefined),
    60_000,
  );
  [alice, bob] = await Promise.all([registerUser('a'), registerUser('b')]);
}, 90_000);

afterAll(() => {
  service.kill('SIGTERM');
});

describe('token-only mode (lk-jwt-service environment)', () => {
  it('a full-access user gets a token that starts the call: identity @user:DEVICE, the LiveKit room created', async () => {
    const roomId = await createRoom(alice);
    const answer = await sfuGet(alice, roomId, {}, url);
    expect(answer.status).toBe(200);
    expect(answer.body['url']).toBe(stackEnv().livekit.url);
    const claims = jwtClaims(answer.body['jwt'] as string);
    expect(claims['sub']).toBe(`${alice.userId}:${alice.deviceId}`);
    expect(claims['video']).toMatchObject({ room: livekitRoomAlias(roomId), roomJoin: true, canPublish: true });
    expect((claims['video'] as Record<string, unknown>)['roomAdmin']).not.toBe(true);
    expect((await livekitApi().listRooms([livekitRoomAlias(roomId)])).length).toBe(1);

    // Another homeserver's user joins the running call (/get_token: the hashed identity).
    const joined = await postToService(
      '/get_token',
      {
        room_id: roomId,
        slot_id: 'm.call#ROOM',
        openid_token: await openIdToken(bob),
        member: { id: 'm1', claimed_user_id: bob.userId, claimed_device_id: bob.deviceId },
      },
      false,
      url,
    );
    expect(joined.status).toBe(200);
    expect(jwtClaims(joined.body['jwt'] as string)['sub']).toBe(
      livekitIdentityForMember(bob.userId, bob.deviceId, 'm1'),
    );
  });

  it('a user of another homeserver cannot start a call (no LiveKit room yet): 403 call_not_started', async () => {
    const roomId = await createRoom(bob);
    const answer = await sfuGet(bob, roomId, {}, url);
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ errcode: 'M_FORBIDDEN', reason: 'call_not_started' });
    expect((await livekitApi().listRooms([livekitRoomAlias(roomId)])).length).toBe(0);
  });

  it('refuses what the full service refuses: a forged OpenID token, a token presented for another server, bad JSON', async () => {
    const roomId = await createRoom(alice);
    const forged = await postToService(
      '/sfu/get',
      {
        room: roomId,
        openid_token: {
          access_token: 'forged',
          token_type: 'Bearer',
          matrix_server_name: homeserver('a').server_name,
          expires_in: 3600,
        },
        device_id: 'X',
      },
      false,
      url,
    );
    expect(forged.status).toBe(401);
    expect(forged.body['errcode']).toBe('M_UNAUTHORIZED');
    const token = await openIdToken(bob);
    const swapped = await postToService(
      '/sfu/get',
      {
        room: roomId,
        openid_token: { ...token, matrix_server_name: homeserver('a').server_name },
        device_id: bob.deviceId,
      },
      false,
      url,
    );
    expect(swapped.status).toBe(401);
    const bad = await postToService('/sfu/get', '{"room":', true, url);
    expect(bad.status).toBe(400);
    expect(bad.body['errcode']).toBe('M_NOT_JSON');
  });

  it('answers CORS preflight, the delegated-leave probe with 404, and /readyz', async () => {
    const pre = await stackFetch(`${url}/sfu/get`, {
      method: 'OPTIONS',
      headers: { origin: 'https://call.example', 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(200);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect((await postToService('/delegate_delayed_leave', {}, false, url)).status).toBe(404);
    const ready = await stackFetch(`${url}/readyz`);
    expect(await ready.json()).toEqual({ status: 'ok', checks: { database: true, livekit: true } });
  });
});

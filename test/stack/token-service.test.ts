import { createServer, type Server } from 'node:net';

import { dispose, Room } from '@livekit/rtc-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { livekitIdentityForMember, livekitRoomAlias } from '../../core/livekit-names.ts';
import {
  callRoom,
  livekitApi,
  getToken,
  jwtClaims,
  openIdToken,
  postToService,
  sfuGet,
  type ServiceAnswer,
} from '../../scripts/stack/clients/calls.ts';
import {
  asUser,
  eventually,
  inviteAndJoin,
  createRoom,
  registerUser,
  waitForMembership,
  type TestUser,
} from '../../scripts/stack/clients/matrix.ts';
import { homeserver, stackEnv, stackFetch } from '../../scripts/stack/clients/env.ts';

let alice: TestUser;
let bob: TestUser;
let roomId: string;
const connected: Room[] = [];

beforeAll(async () => {
  [alice, bob] = await Promise.all([registerUser('a'), registerUser('b')]);
  roomId = await callRoom(alice);
  await inviteAndJoin(alice, roomId, bob);
  await waitForMembership(alice, roomId, bob.userId, 'join');
});

afterAll(async () => {
  for (const r of connected) await r.disconnect();
  await dispose();
});

async function connect(url: string, jwt: string): Promise<Room> {
  const room = new Room();
  await room.connect(url, jwt, { autoSubscribe: false, dynacast: false });
  connected.push(room);
  return room;
}

const expectError = (answer: ServiceAnswer, status: number, errcode: string): void => {
  expect({ status: answer.status, errcode: answer.body['errcode'] }).toEqual({ status, errcode });
  expect(typeof answer.body['error']).toBe('string');
};

describe('token service: granting', () => {
  it('a local member on A gets a JWT for the room’s call, and LiveKit admits that identity', async () => {
    const answer = await getToken(alice, roomId, 'alice-member');
    expect(answer.status).toBe(200);
    expect(answer.body['url']).toBe(stackEnv().livekit.url);
    const claims = jwtClaims(answer.body['jwt'] as string);
    const identity = livekitIdentityForMember(alice.userId, alice.deviceId, 'alice-member');
    expect(claims['sub']).toBe(identity);
    expect(claims['video']).toMatchObject({
      room: livekitRoomAlias(roomId),
      roomJoin: true,
      canPublish: true,
      canSubscribe: true,
      roomAdmin: false,
    });
    expect(claims['attributes']).toMatchObject({ matrix_user_id: alice.userId, matrix_device_id: alice.deviceId });

    await connect(answer.body['url'] as string, answer.body['jwt'] as string);
    const participants = await livekitApi().listParticipants(livekitRoomAlias(roomId));
    expect(participants.map((p) => p.identity)).toContain(identity);
  });

  it('a partner on B, joined over federation, gets a JWT on /sfu/get, and LiveKit admits <user_id>:<device_id>', async () => {
    const answer = await sfuGet(bob, roomId);
    expect(answer.status).toBe(200);
    const claims = jwtClaims(answer.body['jwt'] as string);
    expect(claims['sub']).toBe(`${bob.userId}:${bob.deviceId}`);
    expect(claims['video']).toMatchObject({ room: livekitRoomAlias(roomId), canPublish: true, roomAdmin: false });

    const room = await connect(answer.body['url'] as string, answer.body['jwt'] as string);
    expect(room.localParticipant?.identity).toBe(`${bob.userId}:${bob.deviceId}`);
    const participants = await livekitApi().listParticipants(livekitRoomAlias(roomId));
    expect(participants.map((p) => p.identity)).toContain(`${bob.userId}:${bob.deviceId}`);
  });

  it('a partner cannot start a call: in a room with no call running yet, B is told who can', async () => {
    const fresh = await callRoom(alice);
    await inviteAndJoin(alice, fresh, bob);
    await waitForMembership(alice, fresh, bob.userId, 'join');
    const refused = await sfuGet(bob, fresh);
    expectError(refused, 403, 'M_FORBIDDEN');
    expect(refused.body['error']).toContain(homeserver('a').server_name);
    expect(await livekitApi().listRooms([livekitRoomAlias(fresh)])).toEqual([]);
    // Once Alice (full access) joins, the call exists and Bob may join it.
    expect((await sfuGet(alice, fresh)).status).toBe(200);
    expect((await sfuGet(bob, fresh)).status).toBe(200);
  });

  it('keeps the delayed leave Element Call hands over with its request', async () => {
    const answer = await getToken(bob, roomId, 'bob-delayed', {
      delay_id: 'syd_abc',
      delay_timeout: 10_000,
      delay_cs_api_url: 'http://127.0.0.1:8492',
    });
    expect(answer.status).toBe(200);
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: stackEnv().postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        'SELECT identity, user_id, delay_id, delay_timeout_ms FROM delegated_leaves WHERE room_id = $1 AND delay_id = $2',
        [roomId, 'syd_abc'],
      );
      expect(rows).toEqual([
        {
          identity: livekitIdentityForMember(bob.userId, bob.deviceId, 'bob-delayed'),
          user_id: bob.userId,
          delay_id: 'syd_abc',
          delay_timeout_ms: 10_000,
        },
      ]);
    } finally {
      await client.end();
    }
  });

  it('answers CORS preflight for browser clients on other origins', async () => {
    const res = await stackFetch(`${stackEnv().service.url}/sfu/get`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://call.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
  });

  it('answers 404 on the delegated-leave probe so Element Call keeps its own delayed events', async () => {
    expect((await postToService('/delegate_delayed_leave', {})).status).toBe(404);
    expect((await postToService('/sfu/get/delegate_delayed_leave', {})).status).toBe(404);
  });
});

describe('token service: refusals', () => {
  it('a user on B who is not in the room is refused (403)', async () => {
    const carol = await registerUser('b');
    expectError(await sfuGet(carol, roomId), 403, 'M_FORBIDDEN');
  });

  it('a partner who left is refused once the leave reaches us', async () => {
    const dave = await registerUser('b');
    await inviteAndJoin(alice, roomId, dave);
    await waitForMembership(alice, roomId, dave.userId, 'join');
    expect((await sfuGet(dave, roomId)).status).toBe(200);
    await asUser(dave, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`, {});
    await eventually('the leave to refuse dave', async () =>
      (await sfuGet(dave, roomId)).status === 403 ? true : undefined,
    );
    expectError(await sfuGet(dave, roomId), 403, 'M_FORBIDDEN');
  });

  it('a partner who was banned is refused once the ban reaches us', async () => {
    const eve = await registerUser('b');
    await inviteAndJoin(alice, roomId, eve);
    await waitForMembership(alice, roomId, eve.userId, 'join');
    expect((await getToken(eve, roomId)).status).toBe(200);
    await asUser(alice, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/ban`, {
      user_id: eve.userId,
      reason: 'test',
    });
    await eventually('the ban to refuse eve', async () =>
      (await getToken(eve, roomId)).status === 403 ? true : undefined,
    );
    expectError(await getToken(eve, roomId), 403, 'M_FORBIDDEN');
  });

  it('an OpenID token that B does not know is refused (401)', async () => {
    const fake = {
      access_token: 'not-a-token',
      token_type: 'Bearer',
      matrix_server_name: homeserver('b').server_name,
      expires_in: 3600,
    };
    expectError(
      await postToService('/sfu/get', { room: roomId, openid_token: fake, device_id: 'X' }),
      401,
      'M_UNAUTHORIZED',
    );
  });

  it('a token issued by B but presented as coming from A is refused (401)', async () => {
    const token = await openIdToken(bob);
    const answer = await postToService('/sfu/get', {
      room: roomId,
      openid_token: { ...token, matrix_server_name: homeserver('a').server_name },
      device_id: bob.deviceId,
    });
    expectError(answer, 401, 'M_UNAUTHORIZED');
  });

  it('a claimed_user_id that is not the verified user is refused (401)', async () => {
    const answer = await postToService('/get_token', {
      room_id: roomId,
      slot_id: 'm.call#ROOM',
      openid_token: await openIdToken(bob),
      member: { id: 'm', claimed_user_id: alice.userId, claimed_device_id: bob.deviceId },
    });
    expectError(answer, 401, 'M_UNAUTHORIZED');
  });

  it('a server name that resolves into loopback is refused before any connection is made to it', async () => {
    const trap: Server = createServer();
    let connections = 0;
    trap.on('connection', (socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    const port = (trap.address() as { port: number }).port;
    try {
      const token = {
        access_token: 'whatever',
        token_type: 'Bearer',
        matrix_server_name: `localhost:${port}`,
        expires_in: 3600,
      };
      expectError(
        await postToService('/sfu/get', { room: roomId, openid_token: token, device_id: 'X' }),
        403,
        'M_FORBIDDEN',
      );
      expect(connections).toBe(0);
    } finally {
      trap.close();
    }
  });

  it.each(['169.254.169.254', '10.0.0.1:8448', '[fd00::1]', '192.168.1.1'])(
    'an IP-literal server name %s in forbidden space is refused (403)',
    async (name) => {
      const token = { access_token: 'whatever', token_type: 'Bearer', matrix_server_name: name, expires_in: 3600 };
      expectError(
        await postToService('/sfu/get', { room: roomId, openid_token: token, device_id: 'X' }),
        403,
        'M_FORBIDDEN',
      );
    },
  );

  it('an unknown room, a room Causerie is not in and a room one is not in all answer alike (no probing)', async () => {
    const stranger = await registerUser('b');
    const withoutBot = await createRoom(alice, { name: 'no bot here' });
    const answers = await Promise.all(
      ['!doesnotexist:localhost:8481', withoutBot, roomId].map((id) => sfuGet(stranger, id)),
    );
    for (const a of answers) expectError(a, 403, 'M_FORBIDDEN');
    const bodies = answers.map((a) => JSON.stringify(a.body));
    expect(new Set(bodies).size).toBe(1);
  });

  describe('bad input', () => {
    const token = { access_token: 't', token_type: 'Bearer', matrix_server_name: 'localhost:8482', expires_in: 3600 };
    it('malformed JSON → 400 M_NOT_JSON', async () => {
      expectError(await postToService('/sfu/get', '{"room": "!x", ', true), 400, 'M_NOT_JSON');
      expectError(await postToService('/get_token', '', true), 400, 'M_NOT_JSON');
    });
    it('missing fields → 400 M_BAD_JSON', async () => {
      expectError(await postToService('/sfu/get', { openid_token: token, device_id: 'X' }), 400, 'M_BAD_JSON');
      expectError(
        await postToService('/get_token', { room_id: roomId, slot_id: 'm.call#ROOM', openid_token: token }),
        400,
        'M_BAD_JSON',
      );
    });
    it('wrong types → 400 M_BAD_JSON', async () => {
      expectError(
        await postToService('/sfu/get', { room: ['!x'], openid_token: token, device_id: 7 }),
        400,
        'M_BAD_JSON',
      );
      expectError(
        await postToService('/sfu/get', { room: roomId, openid_token: 'token', device_id: 'X' }),
        400,
        'M_BAD_JSON',
      );
    });
    it('an oversized body and a 10 MB room id → 413 M_TOO_LARGE', async () => {
      expectError(
        await postToService('/sfu/get', {
          room: `!${'x'.repeat(10 * 1024 * 1024)}`,
          openid_token: token,
          device_id: 'X',
        }),
        413,
        'M_TOO_LARGE',
      );
      expectError(await postToService('/get_token', { pad: 'y'.repeat(64 * 1024) }), 413, 'M_TOO_LARGE');
    });
    it('a room id that is not one → 400 M_INVALID_PARAM', async () => {
      expectError(
        await postToService('/sfu/get', { room: 'general', openid_token: token, device_id: 'X' }),
        400,
        'M_INVALID_PARAM',
      );
    });
    it('a GET on a token endpoint → 405', async () => {
      const res = await stackFetch(`${stackEnv().service.url}/sfu/get`);
      expect(res.status).toBe(405);
    });
  });

  it('after all of that the service still answers /healthz', async () => {
    const res = await stackFetch(`${stackEnv().service.url}/healthz`);
    expect(res.status).toBe(200);
  });
});

describe('audit log', () => {
  it('records grants and refusals with reasons and no token material', async () => {
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: stackEnv().postgres.url });
    await client.connect();
    try {
      const rows = await eventually('audit rows for the room', async () => {
        const r = await client.query<{ action: string; user_id: string | null; detail: Record<string, unknown> }>(
          'SELECT action, user_id, detail FROM audit_log WHERE room_id = $1',
          [roomId],
        );
        return r.rows.some((x) => x.action === 'token_refused' && x.detail['reason'] === 'banned') ? r.rows : undefined;
      });
      expect(rows.some((r) => r.action === 'token_granted' && r.user_id === bob.userId)).toBe(true);
      expect(rows.some((r) => r.action === 'token_refused' && r.detail['reason'] === 'not_member')).toBe(true);
      expect(rows.some((r) => r.action === 'token_refused' && r.detail['reason'] === 'left')).toBe(true);
      expect(JSON.stringify(rows)).not.toMatch(/access_token|not-a-token|eyJ/);
    } finally {
      await client.end();
    }
  });
});

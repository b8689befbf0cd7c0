import { describe, expect, it } from 'vitest';

import { asUser, registerUser } from '../../scripts/stack/clients/matrix.ts';
import { homeserver, stackEnv, stackFetch } from '../../scripts/stack/clients/env.ts';
import { readRegistration } from '../../config/registration.ts';

describe('the Causerie service in the stack', () => {
  it('answers /healthz (alive), and /readyz with its database, homeserver and LiveKit answering', async () => {
    const res = await stackFetch(`${stackEnv().service.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    const ready = await stackFetch(`${stackEnv().service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', checks: { database: true, homeserver: true, livekit: true } });
  });

  it('answers an unknown path with a Matrix-style error', async () => {
    const res = await stackFetch(`${stackEnv().service.url}/no/such/thing`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ errcode: 'M_UNRECOGNIZED' });
  });

  it('Synapse A has loaded the appservice registration: its as_token is the bot', async () => {
    const { as_token } = readRegistration(stackEnv().appservice.registration);
    const res = await stackFetch(`${homeserver('a').url}/_matrix/client/v3/account/whoami`, {
      headers: { authorization: `Bearer ${as_token}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { user_id: string }).user_id).toBe(stackEnv().appservice.sender);
    // Synapse B does not know it.
    const onB = await stackFetch(`${homeserver('b').url}/_matrix/client/v3/account/whoami`, {
      headers: { authorization: `Bearer ${as_token}` },
    });
    expect(onB.status).toBe(401);
  });
});

describe('the widget’s config.json', () => {
  it('names the service as its homeservers advertise it, so a copy of the widget served elsewhere finds it', async () => {
    const res = await stackFetch(`${stackEnv().service.url}/widget/config.json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ service_url: stackEnv().service.url });
    const transports = await asUser<{ rtc_transports: { livekit_service_url: string }[] }>(
      await registerUser('a'),
      'GET',
      '/_matrix/client/unstable/org.matrix.msc4143/rtc/transports',
    );
    expect(transports.rtc_transports[0]?.livekit_service_url).toBe(stackEnv().service.url);
  });
});

describe('MatrixRTC transport discovery on Synapse A', () => {
  it('advertises the Causerie token service through the MSC4143 transports endpoint', async () => {
    const alice = await registerUser('a');
    const res = await asUser<{ rtc_transports: unknown[] }>(
      alice,
      'GET',
      '/_matrix/client/unstable/org.matrix.msc4143/rtc/transports',
    );
    expect(res.rtc_transports).toEqual([{ type: 'livekit', livekit_service_url: stackEnv().service.url }]);
  });

  it('advertises it in .well-known/matrix/client as org.matrix.msc4143.rtc_foci', async () => {
    const res = await stackFetch(`${homeserver('a').url}/.well-known/matrix/client`);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body['org.matrix.msc4143.rtc_foci']).toEqual([
      { type: 'livekit', livekit_service_url: stackEnv().service.url },
    ]);
  });

  it('Synapse B, a partner without an SFU, advertises none', async () => {
    const res = await stackFetch(`${homeserver('b').url}/.well-known/matrix/client`);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body['org.matrix.msc4143.rtc_foci']).toBeUndefined();
  });

  it('delayed events (MSC4140) are enabled: a delayed state event gets a delay id', async () => {
    const alice = await registerUser('a');
    const { room_id } = await asUser<{ room_id: string }>(alice, 'POST', '/_matrix/client/v3/createRoom', {
      preset: 'private_chat',
    });
    const res = await asUser<{ delay_id: string }>(
      alice,
      'PUT',
      `/_matrix/client/v3/rooms/${encodeURIComponent(room_id)}/state/org.matrix.msc3401.call.member/_${alice.userId}_DEV_m.call?org.matrix.msc4140.delay=60000`,
      {},
    );
    expect(res.delay_id).toMatch(/.+/);
  });
});

describe('metrics', () => {
  it('/metrics counts token decisions and appservice transactions as they happen', async () => {
    const { postToService, roomWithPartner } = await import('../../scripts/stack/clients/calls.ts');
    // The bot is invited and joins, Bob (B) joins: transactions flow, and B has a member in the room.
    const { roomId } = await roomWithPartner();
    const fake = {
      access_token: 'nope',
      token_type: 'Bearer',
      matrix_server_name: homeserver('b').server_name,
      expires_in: 60,
    };
    const refused = await postToService('/sfu/get', { room: roomId, openid_token: fake, device_id: 'D' });
    expect(refused.status).toBe(401);

    const res = await stackFetch(`${stackEnv().service.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const value = (line: RegExp): number =>
      Number(
        text
          .split('\n')
          .find((l) => line.test(l))
          ?.split(' ')
          .pop() ?? 'NaN',
      );
    expect(
      value(/^causerie_token_decisions_total\{endpoint="sfu_get",outcome="refused",reason="openid_rejected"\}/),
    ).toBeGreaterThanOrEqual(1);
    expect(value(/^causerie_appservice_transactions_total\{outcome="processed"\}/)).toBeGreaterThanOrEqual(1);
    expect(value(/^causerie_appservice_events_total\{type="m.room.member"\}/)).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^causerie_calls_active \d+$/m);
    expect(text).toMatch(/^# HELP causerie_revocation_latency_seconds /m);
  });
});

import { describe, expect, it } from 'vitest';

import { parseTokenRequest } from '../../server/token-requests.ts';

const openid = { access_token: 'tok', token_type: 'Bearer', matrix_server_name: 'b.example', expires_in: 3600 };
const sfu = { room: '!abc:a.example', openid_token: openid, device_id: 'DEV' };
const getToken = {
  room_id: '!abc',
  slot_id: 'm.call#ROOM',
  openid_token: openid,
  member: { id: 'mem1', claimed_user_id: '@bob:b.example', claimed_device_id: 'DEV' },
};

describe('token request bodies', () => {
  it('reads /sfu/get as Element Call sends it, delay fields and unknown fields included', () => {
    const r = parseTokenRequest('sfu_get', {
      ...sfu,
      delay_id: 'd1',
      delay_timeout: 10_000,
      delay_cs_api_url: 'https://b.example',
      future_field: 1,
    });
    expect(r).toMatchObject({ roomId: '!abc:a.example', slotId: 'm.call#ROOM', deviceId: 'DEV', memberId: undefined });
    expect(r.delayedLeave).toEqual({ delayId: 'd1', timeoutMs: 10_000, csApiUrl: 'https://b.example' });
  });

  it('reads /get_token with its member', () => {
    expect(parseTokenRequest('get_token', getToken)).toMatchObject({
      roomId: '!abc',
      deviceId: 'DEV',
      memberId: 'mem1',
      claimedUserId: '@bob:b.example',
      delayedLeave: undefined,
    });
  });

  it.each([
    ['a missing room', 'sfu_get', { ...sfu, room: undefined }, 'M_BAD_JSON', /Missing room/],
    [
      'a missing OpenID token field',
      'sfu_get',
      { ...sfu, openid_token: { access_token: 'x' } },
      'M_BAD_JSON',
      /Missing openid_token.matrix_server_name/,
    ],
    ['a room id of the wrong type', 'sfu_get', { ...sfu, room: 42 }, 'M_BAD_JSON', /Invalid room/],
    ['a missing member', 'get_token', { ...getToken, member: undefined }, 'M_BAD_JSON', /Missing member/],
    ['an array body', 'get_token', [], 'M_BAD_JSON', /JSON object/],
    ['a room id that is not one', 'sfu_get', { ...sfu, room: 'general' }, 'M_INVALID_PARAM', /room id/],
    [
      'a device id with a colon (identity collision)',
      'sfu_get',
      { ...sfu, device_id: '8482:DEV' },
      'M_INVALID_PARAM',
      /device id/,
    ],
    [
      'a server name that is not one',
      'sfu_get',
      { ...sfu, openid_token: { ...openid, matrix_server_name: 'evil.org/x' } },
      'M_INVALID_PARAM',
      /server name/,
    ],
    [
      'a slot other than the room call',
      'get_token',
      { ...getToken, slot_id: 'm.call#OTHER' },
      'M_INVALID_PARAM',
      /slot/,
    ],
    ['an overlong room id', 'sfu_get', { ...sfu, room: `!${'x'.repeat(300)}` }, 'M_BAD_JSON', /Invalid room/],
  ] as const)('refuses %s', (_what, endpoint, body, errcode, message) => {
    expect(() => parseTokenRequest(endpoint, body)).toThrow(message);
    try {
      parseTokenRequest(endpoint, body);
    } catch (err) {
      expect(err).toMatchObject({ errcode });
    }
  });
});

/**
 * The widget's token client against a fake token service: the MatrixRTC request, the fallback to
 * /sfu/get on an older service, and what the person is told for each error answer.
 */
import { describe, expect, it } from 'vitest';

import { CallError } from '../../widget/core/errors.ts';
import { TokenClient, type Fetch } from '../../widget/call/token-client.ts';

const openid = { access_token: 'oidc', token_type: 'Bearer', matrix_server_name: 'a.example', expires_in: 3600 };
const link = {
  roomId: '!room:a.example',
  userId: '@alice:a.example',
  deviceId: 'DEV',
  openIdToken: () => Promise.resolve(openid),
};

interface Call {
  url: string;
  body: unknown;
}

/** A fake service answering each POST with the next of `answers` (status and JSON body, or a failure). */
function service(...answers: ([number, unknown] | Error)[]): { fetch: Fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fetch: Fetch = (url, init) => {
    if (typeof init.body !== 'string') throw new Error('expected a JSON body');
    calls.push({ url, body: JSON.parse(init.body) });
    const next = answers.shift();
    if (next === undefined) throw new Error('unexpected request');
    if (next instanceof Error) return Promise.reject(next);
    const [status, body] = next;
    return Promise.resolve(
      new Response(typeof body === 'string' ? body : JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json' },
      }),
    );
  };
  return { fetch, calls };
}

/** A client of a sticky MatrixRTC member (/get_token); `asState` one of a per-device state membership. */
const client = (fetch: Fetch): TokenClient =>
  new TokenClient({ serviceUrl: 'https://causerie.example', link, memberId: 'member-1', fetch, membership: 'sticky' });
const asState = (fetch: Fetch): TokenClient =>
  new TokenClient({ serviceUrl: 'https://causerie.example', link, memberId: 'member-1', fetch });

async function kindOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CallError)) throw new Error(`expected a CallError, got ${String(err)}`);
  return err.kind;
}

const answer = { url: 'wss://livekit.example', jwt: 'eyJ.jwt' };

describe('the widget’s token client', () => {
  it('with a per-device state membership (what the widget writes), asks /sfu/get: its identity is @user:DEVICE, as Element Call expects', async () => {
    const s = service([200, answer]);
    expect(await asState(s.fetch).token({ id: 'delay-1', timeoutMs: 10_000 })).toEqual(answer);
    expect(s.calls).toEqual([
      {
        url: 'https://causerie.example/sfu/get',
        body: {
          room: '!room:a.example',
          openid_token: openid,
          device_id: 'DEV',
          delay_id: 'delay-1',
          delay_timeout: 10_000,
        },
      },
    ]);
  });

  it('asks /get_token as a MatrixRTC member, handing over the delayed leave', async () => {
    const s = service([200, answer]);
    expect(await client(s.fetch).token({ id: 'delay-1', timeoutMs: 10_000 })).toEqual(answer);
    expect(s.calls).toEqual([
      {
        url: 'https://causerie.example/get_token',
        body: {
          room_id: '!room:a.example',
          slot_id: 'm.call#ROOM',
          openid_token: openid,
          member: { id: 'member-1', claimed_user_id: '@alice:a.example', claimed_device_id: 'DEV' },
          delay_id: 'delay-1',
          delay_timeout: 10_000,
        },
      },
    ]);
  });

  it('hands over no delayed leave when the homeserver could not schedule one', async () => {
    const s = service([200, answer]);
    await client(s.fetch).token(undefined);
    expect(s.calls[0]?.body).not.toHaveProperty('delay_id');
  });

  it('falls back to /sfu/get when the service does not know /get_token', async () => {
    const s = service([404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' }], [200, answer]);
    expect(await client(s.fetch).token({ id: 'delay-1', timeoutMs: 10_000 })).toEqual(answer);
    expect(s.calls.map((c) => c.url)).toEqual([
      'https://causerie.example/get_token',
      'https://causerie.example/sfu/get',
    ]);
    expect(s.calls[1]?.body).toEqual({
      room: '!room:a.example',
      openid_token: openid,
      device_id: 'DEV',
      delay_id: 'delay-1',
      delay_timeout: 10_000,
    });
  });

  it('tells a person the room is unknown to the service that they are not a member, without a fallback', async () => {
    const s = service([404, { errcode: 'M_NOT_FOUND', error: 'no such room', reason: 'room_unknown' }]);
    expect(await kindOf(client(s.fetch).token(undefined))).toBe('not_member');
    expect(s.calls).toHaveLength(1);
  });

  it('reads the /sfu/get answer’s errors too', async () => {
    const s = service([404, { errcode: 'M_UNRECOGNIZED' }], [403, { errcode: 'M_FORBIDDEN', reason: 'banned' }]);
    expect(await kindOf(client(s.fetch).token(undefined))).toBe('not_member');
  });

  it.each([
    [403, { errcode: 'M_FORBIDDEN', reason: 'call_not_started' }, 'call_not_started'],
    [403, { errcode: 'M_FORBIDDEN', reason: 'banned' }, 'not_member'],
    [404, { errcode: 'M_NOT_FOUND', reason: 'room_unknown' }, 'not_member'],
    [404, '<html>Not found</html>', 'not_member'],
    [401, { errcode: 'M_UNAUTHORIZED' }, 'unauthorized'],
    [502, { errcode: 'M_UNKNOWN' }, 'token_service_unreachable'],
    [503, 'Service Unavailable', 'token_service_unreachable'],
    [429, { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 1000 }, 'token_service_unreachable'],
    [400, { errcode: 'M_BAD_JSON' }, 'unknown'],
  ])('maps a %i %j answer to the %s message', async (status, body, kind) => {
    expect(await kindOf(client(service([status, body]).fetch).token(undefined))).toBe(kind);
  });

  it('says the service is unreachable when the request fails or the answer has no token', async () => {
    expect(await kindOf(client(service(new TypeError('Failed to fetch')).fetch).token(undefined))).toBe(
      'token_service_unreachable',
    );
    expect(await kindOf(client(service([200, { url: 'wss://x' }]).fetch).token(undefined))).toBe(
      'token_service_unreachable',
    );
    expect(await kindOf(client(service([200, 'not json']).fetch).token(undefined))).toBe('token_service_unreachable');
  });

  it('passes on the host client refusing an OpenID token, asking the service nothing', async () => {
    const s = service();
    const refusing = new TokenClient({
      serviceUrl: 'https://causerie.example',
      link: { ...link, openIdToken: () => Promise.reject(new CallError('widget_api', 'OpenID refused')) },
      memberId: 'member-1',
      fetch: s.fetch,
    });
    expect(await kindOf(refusing.token(undefined))).toBe('widget_api');
    expect(s.calls).toEqual([]);
  });
});

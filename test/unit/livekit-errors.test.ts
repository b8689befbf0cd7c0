import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ParticipantInfo, ParticipantInfo_State, RoomServiceClient, ServerError } from 'livekit-server-sdk';
import { afterAll, describe, expect, it } from 'vitest';

import {
  classifyLivekitError,
  listParticipantsOrGone,
  LivekitUnavailableError,
  participantPresent,
} from '../../livekit/errors.ts';

/** What the SDK throws for a LiveKit HTTP error (`TwirpError` is its deprecated alias). */
const twirp = (status: number, code: string | undefined, msg = 'x'): Error =>
  new ServerError('Error', msg, status, code);

/** A RoomService that fails every call with `err`. */
const failing = (err: unknown) => ({
  listParticipants: (): Promise<ParticipantInfo[]> => {
    throw err;
  },
  getParticipant: (): Promise<ParticipantInfo> => {
    throw err;
  },
});

const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A fake LiveKit speaking Twirp over HTTP, so the SDK builds its own errors. */
async function fakeLivekit(answer: (method: string) => { status: number; body: unknown } | 'hang'): Promise<string> {
  const server = createServer((req, res) => {
    const a = answer(req.url?.split('/').pop() ?? '');
    if (a === 'hang') return;
    res.writeHead(a.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(a.body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function unusedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

const client = (url: string, requestTimeout = 10) =>
  new RoomServiceClient(url, 'key', 's'.repeat(32), { requestTimeout });

describe('classifying LiveKit RoomService failures', () => {
  it.each([
    ['Twirp not_found (no such room or participant)', twirp(404, 'not_found'), 'not_found'],
    ['Twirp bad_route, a 404 that says nothing about the room', twirp(404, 'bad_route'), 'refused'],
    ['a bare 404 without a Twirp code (a proxy page)', twirp(404, undefined), 'refused'],
    ['unauthenticated (wrong API key)', twirp(401, 'unauthenticated'), 'refused'],
    ['permission_denied', twirp(403, 'permission_denied'), 'refused'],
    ['Twirp unavailable', twirp(503, 'unavailable'), 'unavailable'],
    ['Twirp internal', twirp(500, 'internal'), 'unavailable'],
    ['a bare 502 from a proxy', twirp(502, undefined), 'unavailable'],
    ['a transport failure', new TypeError('fetch failed'), 'unavailable'],
    ['a timeout', new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'unavailable'],
    ['something unreadable', 'boom', 'unavailable'],
  ])('%s', (_what, err, kind) => {
    expect(classifyLivekitError(err)).toBe(kind);
  });

  it('a room LiveKit does not know has no participants', async () => {
    expect(await listParticipantsOrGone(failing(twirp(404, 'not_found')), 'r')).toEqual([]);
    expect(await participantPresent(failing(twirp(404, 'not_found')), 'r', 'i')).toEqual({ present: false });
  });

  it('a refusal or an outage is never "nobody is connected"', async () => {
    for (const err of [twirp(401, 'unauthenticated'), twirp(503, 'unavailable'), twirp(404, 'bad_route')]) {
      await expect(listParticipantsOrGone(failing(err), 'r')).rejects.toBeInstanceOf(LivekitUnavailableError);
      await expect(participantPresent(failing(err), 'r', 'i')).rejects.toBeInstanceOf(LivekitUnavailableError);
    }
    const refused = await listParticipantsOrGone(failing(twirp(401, 'unauthenticated')), 'r').catch((e: unknown) => e);
    expect(refused).toMatchObject({
      name: 'LivekitUnavailableError',
      failure: 'refused',
      operation: 'listParticipants',
    });
  });

  it('a LiveKit that refuses connections is unavailable, not empty', async () => {
    const api = client(`http://127.0.0.1:${await unusedPort()}`);
    const err = await listParticipantsOrGone(api, 'r').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LivekitUnavailableError);
    expect(err).toMatchObject({ failure: 'unavailable' });
    expect((err as Error).message).toMatch(/ECONNREFUSED|fetch failed/);
    await expect(participantPresent(api, 'r', 'i')).rejects.toBeInstanceOf(LivekitUnavailableError);
  });

  it('a LiveKit that does not answer in time is unavailable', async () => {
    const url = await fakeLivekit(() => 'hang');
    const err = await participantPresent(client(url, 1), 'r', 'i').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'LivekitUnavailableError', failure: 'unavailable' });
  });

  it('reads the Twirp answers the SDK builds from LiveKit’s HTTP responses', async () => {
    const url = await fakeLivekit((method) => {
      if (method === 'ListParticipants') return { status: 404, body: { code: 'not_found', msg: 'room not found' } };
      return { status: 401, body: { code: 'unauthenticated', msg: 'invalid token' } };
    });
    expect(await listParticipantsOrGone(client(url), 'r')).toEqual([]);
    await expect(participantPresent(client(url), 'r', 'i')).rejects.toMatchObject({ failure: 'refused' });
  });

  it('a connected participant is present as its session; one LiveKit reports disconnected is not', async () => {
    const answer = (state: ParticipantInfo_State) => ({
      listParticipants: () => Promise.resolve([]),
      getParticipant: () => Promise.resolve(new ParticipantInfo({ identity: 'i', sid: 'PA_1', state })),
    });
    expect(await participantPresent(answer(ParticipantInfo_State.ACTIVE), 'r', 'i')).toEqual({
      present: true,
      sid: 'PA_1',
    });
    expect(await participantPresent(answer(ParticipantInfo_State.JOINING), 'r', 'i')).toMatchObject({ present: true });
    expect(await participantPresent(answer(ParticipantInfo_State.DISCONNECTED), 'r', 'i')).toEqual({
      present: false,
    });
  });
});

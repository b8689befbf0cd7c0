/**
 * Call fixtures on the real stack: rooms with the Causerie bot in them, OpenID tokens from each
 * user's own homeserver, requests to the token service.
 */
import { livekitRoomAlias } from '../../../core/livekit-names.ts';
import {
  asUser,
  createRoom,
  eventually,
  inviteAndJoin,
  registerUser,
  waitForMembership,
  type TestUser,
} from './matrix.ts';
import { Room, type RoomOptions } from '@livekit/rtc-node';
import { RoomServiceClient } from 'livekit-server-sdk';

import { stackEnv, stackFetch } from './env.ts';

export interface OpenIdToken {
  access_token: string;
  token_type: string;
  matrix_server_name: string;
  expires_in: number;
}

export function openIdToken(user: TestUser): Promise<OpenIdToken> {
  return asUser<OpenIdToken>(
    user,
    'POST',
    `/_matrix/client/v3/user/${encodeURIComponent(user.userId)}/openid/request_token`,
    {},
  );
}

/** A room created by `owner` where any member may write call membership, with the bot joined. */
export async function callRoom(owner: TestUser): Promise<string> {
  const roomId = await createRoom(owner, {
    name: 'call room',
    power_level_content_override: { events: { 'org.matrix.msc3401.call.member': 0 } },
  });
  await asUser(owner, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`, {
    user_id: stackEnv().appservice.sender,
  });
  await waitForMembership(owner, roomId, stackEnv().appservice.sender, 'join');
  return roomId;
}

/**
 * A room with a waiting room (join rule `knock`) created by `owner`, the bot in it with power 50 (it
 * lets knockers in and turns them away), any member may write call membership.
 */
export async function knockRoom(owner: TestUser, name = 'meeting with a waiting room'): Promise<string> {
  const roomId = await createRoom(owner, {
    name,
    initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }],
    power_level_content_override: {
      events: { 'org.matrix.msc3401.call.member': 0 },
      users: { [stackEnv().appservice.sender]: 50 },
    },
    invite: [stackEnv().appservice.sender],
  });
  await waitForMembership(owner, roomId, stackEnv().appservice.sender, 'join');
  return roomId;
}

export { inviteAndJoin };

const enc = encodeURIComponent;

export async function say(user: TestUser, roomId: string, body: string): Promise<void> {
  await asUser(
    user,
    'PUT',
    `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/t${Date.now()}${Math.random()}`,
    { msgtype: 'm.text', body },
  );
}

/** The bodies of the bot's last messages in a room (newest first), as `viewer` sees them. */
export async function botMessages(viewer: TestUser, roomId: string): Promise<string[]> {
  const { chunk } = await asUser<{ chunk: { sender: string; content: { body?: string } }[] }>(
    viewer,
    'GET',
    `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=100`,
  );
  return chunk.filter((e) => e.sender === stackEnv().appservice.sender).map((e) => e.content.body ?? '');
}

/** Waits until `viewer` sees a notice from the bot matching `pattern`, not counting `skip` earlier ones. */
export async function botNotice(
  viewer: TestUser,
  roomId: string,
  pattern: RegExp,
  skip = 0,
  timeoutMs = 20_000,
): Promise<string> {
  return eventually(
    `a bot notice matching ${String(pattern)}`,
    async () => {
      const { chunk } = await asUser<{
        chunk: { sender: string; type: string; content: { msgtype?: string; body?: string } }[];
      }>(viewer, 'GET', `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=100`);
      const bodies = chunk
        .filter(
          (e) =>
            e.sender === stackEnv().appservice.sender &&
            e.content.msgtype === 'm.notice' &&
            pattern.test(e.content.body ?? ''),
        )
        .map((e) => e.content.body ?? '');
      return bodies.length > skip ? bodies[0] : undefined;
    },
    timeoutMs,
  );
}

/**
 * A call room where the bot may write the widget, with Alice (A) and Bob (B); `encrypted`: with
 * `m.room.encryption` from the start, as Element creates private rooms.
 */
export async function roomWithPartner(
  opts: { encrypted?: boolean } = {},
): Promise<{ alice: TestUser; bob: TestUser; roomId: string }> {
  const [alice, bob] = await Promise.all([registerUser('a', undefined), registerUser('b')]);
  await asUser(alice, 'PUT', `/_matrix/client/v3/profile/${enc(alice.userId)}/displayname`, {
    displayname: 'Alice Martin',
  });
  const roomId = await createRoom(alice, {
    name: 'réunion',
    power_level_content_override: {
      events: { 'org.matrix.msc3401.call.member': 0 },
      users: { [stackEnv().appservice.sender]: 50 },
    },
    invite: [stackEnv().appservice.sender],
    ...(opts.encrypted === true
      ? {
          initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
        }
      : {}),
  });
  await waitForMembership(alice, roomId, stackEnv().appservice.sender, 'join');
  await inviteAndJoin(alice, roomId, bob);
  await waitForMembership(alice, roomId, bob.userId, 'join');
  return { alice, bob, roomId };
}

export interface ServiceAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** POSTs a raw body (string or JSON value) to the token service (the stack's, or another). */
export async function postToService(
  path: string,
  body: unknown,
  raw = false,
  serviceUrl = stackEnv().service.url,
): Promise<ServiceAnswer> {
  const res = await stackFetch(`${serviceUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed, headers: res.headers as unknown as Headers };
}

export const sfuGet = async (
  user: TestUser,
  roomId: string,
  extra: Record<string, unknown> = {},
  serviceUrl?: string,
): Promise<ServiceAnswer> =>
  postToService(
    '/sfu/get',
    { room: roomId, openid_token: await openIdToken(user), device_id: user.deviceId, ...extra },
    false,
    serviceUrl,
  );

export const getToken = async (
  user: TestUser,
  roomId: string,
  memberId = 'member-1',
  extra: Record<string, unknown> = {},
): Promise<ServiceAnswer> =>
  postToService('/get_token', {
    room_id: roomId,
    slot_id: 'm.call#ROOM',
    openid_token: await openIdToken(user),
    member: { id: memberId, claimed_user_id: user.userId, claimed_device_id: user.deviceId },
    ...extra,
  });

/** The claims of a JWT, unverified (the test checks what the service put in it). */
export function jwtClaims(jwt: string): Record<string, unknown> {
  const [, payload] = jwt.split('.');
  return JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** LiveKit's server API with the stack's key. */
export const livekitApi = (): RoomServiceClient =>
  new RoomServiceClient(
    stackEnv().livekit.url.replace(/^ws/, 'http'),
    stackEnv().livekit.api_key,
    stackEnv().livekit.api_secret,
  );

/** The server API of homeserver B's own LiveKit (the partner deployment; same dev key). */
export const partnerLivekitApi = (): RoomServiceClient =>
  new RoomServiceClient(
    stackEnv().partner.livekit_url.replace(/^ws/, 'http'),
    stackEnv().livekit.api_key,
    stackEnv().livekit.api_secret,
  );

/** Who publishes media on a LiveKit (Matrix user ids), in the room of `roomId`'s call. */
export async function publishersOn(client: RoomServiceClient, roomId: string): Promise<string[]> {
  const participants = await client.listParticipants(livekitRoomAlias(roomId)).catch(() => []);
  return participants.filter((p) => p.tracks.length > 0).map((p) => p.identity.slice(0, p.identity.lastIndexOf(':')));
}

/**
 * Gets a token on /sfu/get (retrying while our view of the user's join catches up) and connects to
 * LiveKit as a headless participant; the room is added to `opened` for the suite to disconnect.
 * By default it neither subscribes nor lets the SFU pause its layers; a publisher standing in for a
 * browser asks for dynacast as browsers do.
 */
export async function connectToCall(
  user: TestUser,
  roomId: string,
  opened: Room[],
  serviceUrl?: string,
  options: Partial<RoomOptions> = {},
): Promise<Room> {
  const answer = await eventually('a token', async () => {
    const a = await sfuGet(user, roomId, {}, serviceUrl);
    return a.status === 200 ? a : undefined;
  });
  const room = new Room();
  await room.connect(answer.body['url'] as string, answer.body['jwt'] as string, {
    autoSubscribe: false,
    dynacast: false,
    ...options,
  });
  opened.push(room);
  return room;
}

/** The state path and content of a per-device MatrixRTC membership, as Element Call writes it. */
export function callMembership(
  user: TestUser,
  roomId: string,
): { stateKey: string; path: string; content: Record<string, unknown> } {
  const stateKey = `_${user.userId}_${user.deviceId}_m.call`;
  return {
    stateKey,
    path: `/_matrix/client/v3/rooms/${enc(roomId)}/state/org.matrix.msc3401.call.member/${enc(stateKey)}`,
    content: {
      application: 'm.call',
      call_id: '',
      scope: 'm.room',
      device_id: user.deviceId,
      expires: 14_400_000,
      focus_active: { type: 'livekit', focus_selection: 'multi_sfu' },
      foci_preferred: [{ type: 'livekit', livekit_service_url: stackEnv().service.url, livekit_alias: roomId }],
    },
  };
}

/** Waits until `viewer`'s homeserver has the room's call widget (written by the bot on `!call`). */
export function waitForCallWidget<T = Record<string, unknown>>(
  viewer: TestUser,
  roomId: string,
  timeoutMs?: number,
): Promise<T> {
  return eventually(
    `the call widget in ${viewer.userId}'s copy of the room`,
    async () => {
      try {
        return await asUser<T>(
          viewer,
          'GET',
          `/_matrix/client/v3/rooms/${enc(roomId)}/state/im.vector.modular.widgets/causerie_call`,
        );
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );
}

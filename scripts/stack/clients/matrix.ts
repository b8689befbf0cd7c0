/**
 * Real users and rooms on the stack's homeservers through their client-server and admin APIs:
 * shared-secret registration, room creation, invites and joins across servers, and waiting for
 * federation to deliver (polling with a deadline, never a fixed sleep).
 */
import { createHmac, randomBytes } from 'node:crypto';

import { setTimeout as sleep } from 'node:timers/promises';

import { homeserver, stackFetch, type HomeserverEnv } from './env.ts';

export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export interface TestUser {
  userId: string;
  accessToken: string;
  deviceId: string;
  password: string;
  hs: HomeserverEnv;
}

async function call<T>(
  hs: HomeserverEnv,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<T> {
  const res = await stackFetch(`${hs.url}${path}`, {
    method,
    headers: {
      ...(opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` }),
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  const json = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
  if (!res.ok) {
    const errcode = typeof json['errcode'] === 'string' ? json['errcode'] : undefined;
    throw new MatrixError(res.status, errcode, `${method} ${path} → ${res.status} ${text}`);
  }
  return json as T;
}

export const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

/** Registers a user through Synapse's shared-secret admin API. */
export async function registerUser(
  name: 'a' | 'b' | HomeserverEnv,
  localpart = uniqueName('user'),
  admin = false,
): Promise<TestUser> {
  const hs = typeof name === 'string' ? homeserver(name) : name;
  const { nonce } = await call<{ nonce: string }>(hs, 'GET', '/_synapse/admin/v1/register');
  const password = randomBytes(12).toString('hex');
  const mac = createHmac('sha1', hs.registration_shared_secret)
    .update(`${nonce}\0${localpart}\0${password}\0${admin ? 'admin' : 'notadmin'}`)
    .digest('hex');
  const res = await call<{ user_id: string; access_token: string; device_id: string }>(
    hs,
    'POST',
    '/_synapse/admin/v1/register',
    {
      body: { nonce, username: localpart, password, admin, mac },
    },
  );
  return { userId: res.user_id, accessToken: res.access_token, deviceId: res.device_id, password, hs };
}

/** A client-server API call as a user. */
export function asUser<T>(user: TestUser, method: string, path: string, body?: unknown): Promise<T> {
  return call<T>(user.hs, method, path, { token: user.accessToken, body });
}

const enc = encodeURIComponent;

export async function createRoom(user: TestUser, options: Record<string, unknown> = {}): Promise<string> {
  const { room_id } = await asUser<{ room_id: string }>(user, 'POST', '/_matrix/client/v3/createRoom', {
    preset: 'private_chat',
    ...options,
  });
  return room_id;
}

export async function invite(inviter: TestUser, roomId: string, userId: string): Promise<void> {
  await asUser(inviter, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: userId });
}

/** Joins a room, naming the server to join through (room v12 ids carry no server name). */
export async function join(user: TestUser, roomId: string, via: string): Promise<void> {
  await asUser(user, 'POST', `/_matrix/client/v3/join/${enc(roomId)}?server_name=${enc(via)}`, {});
}

export async function membership(viewer: TestUser, roomId: string, userId: string): Promise<string | undefined> {
  try {
    const ev = await asUser<{ membership?: string }>(
      viewer,
      'GET',
      `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(userId)}`,
    );
    return ev.membership;
  } catch (err) {
    if (err instanceof MatrixError && err.status === 404) return undefined;
    throw err;
  }
}

/** Polls until `probe` returns a value other than undefined, or fails with `what` after the deadline. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? ` (last error: ${lastError.message})` : ''}`,
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 250);
  }
}

/** Waits until `viewer`'s homeserver sees `userId` with the given membership in the room. */
export function waitForMembership(
  viewer: TestUser,
  roomId: string,
  userId: string,
  expected: string,
  timeoutMs?: number,
): Promise<string> {
  return eventually(
    `${viewer.userId} to see ${userId} as ${expected} in ${roomId}`,
    async () => ((await membership(viewer, roomId, userId)) === expected ? expected : undefined),
    timeoutMs,
  );
}

/**
 * Invites a user (of either homeserver) and has them join through the inviter's server. A remote
 * invite only succeeds once the invitee's server has signed it, so the join can follow at once.
 */
export async function inviteAndJoin(inviter: TestUser, roomId: string, invitee: TestUser): Promise<void> {
  await invite(inviter, roomId, invitee.userId);
  const via = inviter.userId.slice(inviter.userId.indexOf(':') + 1);
  await join(invitee, roomId, via);
}

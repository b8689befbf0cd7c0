/**
 * What the service's room requests from the widget share (moderation, the waiting room, guest
 * links): the OpenID token field, and "the room as the bot sees it, and who is asking" — the token
 * verified with the asker's own homeserver, after the cheap refusals.
 */
import { z } from 'zod';

import { forbidden, invalidParam, unavailable } from '../core/errors.ts';
import { isValidRoomId } from '../core/matrix-ids.ts';
import { RoomNotVisibleError, type RoomView } from '../core/room-model.ts';
import type { OpenIdVerifier } from '../federation/openid-verify.ts';

export const openIdTokenSchema = z.looseObject({
  access_token: z.string().min(1).max(4096),
  matrix_server_name: z.string().min(1).max(255),
});

export interface RoomRequest {
  room_id: string;
  openid_token: { access_token: string; matrix_server_name: string };
}

export interface RoomRequestDeps {
  verifier: Pick<OpenIdVerifier, 'verify'>;
  rooms: { get(roomId: string): Promise<RoomView> };
}

/**
 * The room as the bot sees it and the user the OpenID token verifies to. `serverInRoom`: the asker's
 * server must have members in the room (a knocker's may not yet), checked before any request to it.
 * A room the bot is not in and a room one is not in get the same 403.
 */
export async function roomAndUser(
  deps: RoomRequestDeps,
  req: RoomRequest,
  serverInRoom: boolean,
): Promise<{ room: RoomView; user: string }> {
  if (!isValidRoomId(req.room_id)) throw invalidParam('room_id is not a room id');
  let room: RoomView;
  try {
    room = await deps.rooms.get(req.room_id);
  } catch (err) {
    if (err instanceof RoomNotVisibleError) throw forbidden('You are not a member of this room', 'not_member');
    throw unavailable('local_homeserver_unreachable');
  }
  if (serverInRoom && room.hasServer?.(req.openid_token.matrix_server_name) === false)
    throw forbidden('You are not a member of this room', 'not_member');
  const user = await deps.verifier.verify({
    access_token: req.openid_token.access_token,
    matrix_server_name: req.openid_token.matrix_server_name,
  });
  return { room, user };
}

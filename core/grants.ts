/**
 * The decision "may this user get a LiveKit token for this room's call, and with what rights?",
 * from the room as the appservice sees it. Pure: no I/O.
 */
import { powerOf, type RoomView } from './room-model.ts';
import { forbidden, type ApiError } from './errors.ts';
import { isServerNameListed } from './matrix-ids.ts';

export type RemoteUsersPolicy = 'publish' | 'subscribe' | 'deny';

export interface GrantPolicy {
  /** Our homeserver's name. */
  localServer: string;
  fullAccessServers: readonly string[];
  remoteUsers: RemoteUsersPolicy;
  /** Guest accounts (guest links): they join a running call, never start one. */
  isGuest?: (userId: string) => boolean;
}

export interface Grant {
  canPublish: boolean;
  canSubscribe: true;
  /** Whether this user's request may create the LiveKit room (start the call). */
  mayCreateRoom: boolean;
  displayName: string | undefined;
}

/** Event types whose send level is the room's "call power level". */
const CALL_MEMBER_EVENT = 'org.matrix.msc3401.call.member';

/**
 * Power needed to publish in the call: the level the room requires for sending call membership
 * events, when it sets one explicitly; otherwise any member may (clients cannot join a call they
 * cannot announce, and rooms made for calls set this to 0).
 */
export function callPowerLevel(room: RoomView): number {
  return room.powerLevels.events[CALL_MEMBER_EVENT] ?? 0;
}

export function decideGrant(room: RoomView, userId: string, userServer: string, policy: GrantPolicy): Grant | ApiError {
  const member = room.members.get(userId);
  const membership = member?.membership;
  if (membership !== 'join') {
    const why =
      membership === 'ban'
        ? 'banned'
        : membership === 'leave'
          ? 'left'
          : membership === 'invite'
            ? 'invited_not_joined'
            : membership === 'knock'
              ? 'knocking'
              : 'not_member';
    return forbidden('You are not a member of this room', why);
  }
  const remote = userServer !== policy.localServer;
  if (remote && policy.remoteUsers === 'deny') {
    return forbidden('Members from other homeservers may not join calls here', 'remote_denied');
  }
  const power = powerOf(room, userId);
  const canPublish = power >= callPowerLevel(room) && !(remote && policy.remoteUsers === 'subscribe');
  return {
    canPublish,
    canSubscribe: true,
    mayCreateRoom: isServerNameListed(userServer, policy.fullAccessServers) && policy.isGuest?.(userId) !== true,
    displayName: member?.displayname,
  };
}

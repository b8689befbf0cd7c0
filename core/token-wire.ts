/**
 * The token service's wire format, as Element Call and lk-jwt-service speak it: request bodies of
 * POST /sfu/get and /get_token, the answer, and the error body. Types only: the widget imports them
 * (its bundle takes no server code), the server decodes bodies into them (server/token-requests.ts).
 * Also the one message the service sends into a call (LiveKit server data, which no participant
 * can forge): the call is ending, and who ended it.
 */

/**
 * Server data on topic `io.causerie.call` (CALL_CONTROL_TOPIC in appservice/calls.ts and
 * widget/core/signals.ts) sent just before the service closes a call's LiveKit room.
 */
export interface CallEndedWire {
  ended: true;
  /** The Matrix user who ended it (`!call end`); absent when the service ended it itself. */
  by?: string;
}

/** What a Matrix client gets from `POST /_matrix/client/v3/user/{userId}/openid/request_token`. */
export interface OpenIdTokenWire {
  access_token: string;
  token_type?: string;
  matrix_server_name: string;
  expires_in?: number;
}

/** MSC4140 delayed "leave" handed over with a token request (optional on both endpoints). */
export interface DelayedLeaveWire {
  delay_id?: string;
  delay_timeout?: number;
  delay_cs_api_url?: string;
}

/** `POST /sfu/get`: a per-device state membership (identity `<user_id>:<device_id>`). */
export interface SfuGetRequest extends DelayedLeaveWire {
  room: string;
  openid_token: OpenIdTokenWire;
  device_id: string;
}

/** `POST /get_token`: a MatrixRTC member (hashed identity). */
export interface GetTokenRequest extends DelayedLeaveWire {
  room_id: string;
  slot_id: 'm.call#ROOM';
  openid_token: OpenIdTokenWire;
  member: { id: string; claimed_user_id: string; claimed_device_id: string };
}

/** The answer of both endpoints: where LiveKit is and the JWT for it (its `video.room` names the room). */
export interface TokenAnswer {
  url: string;
  jwt: string;
}

/** Every error answer: a Matrix errcode, a message, and why (for clients to say the right thing). */
export interface ErrorBody {
  errcode: string;
  error: string;
  reason?: string;
  retry_after_ms?: number;
}

/** Server data topic of moderation notices (server/moderation.ts → widget/core/signals.ts). */
export const MODERATION_TOPIC = 'io.causerie.moderation';

/**
 * What the service tells participants when a moderator acts: to those muted or removed, who did it;
 * to everyone, whose hand a moderator lowered. Server data: no participant can send it.
 */
export type ModerationWire =
  | { action: 'muted'; source: 'microphone' | 'camera'; by: string; locked?: true }
  | { action: 'allowed'; by: string }
  | { action: 'removed'; by: string }
  | { action: 'lower_hand'; target: string; by: string };

/** `POST /_causerie/v1/guest/redeem`: the guest account made for a guest link, and its page's session. */
export interface GuestSessionWire {
  user_id: string;
  device_id: string;
  room_id: string;
  /** The guest page's bearer secret for the guest gateway (shown once, kept hashed). */
  session: string;
  expires_at: string;
  /** Let in already (invited), or through the waiting room. */
  admitted: boolean;
}

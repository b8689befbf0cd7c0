/**
 * Bodies of the token endpoints, parsed at the edge. Unknown fields are tolerated (Element Call adds
 * fields over time), never trusted. Missing or mistyped fields are M_BAD_JSON; values that are the
 * right type but cannot be right (a room id that is not one) are M_INVALID_PARAM.
 */
import { z } from 'zod';

import { badJson, invalidParam, unauthorized, type ApiError } from '../core/errors.ts';
import { isValidDeviceId, isValidRoomId } from '../core/matrix-ids.ts';
import { parseServerName } from '../core/matrix-ids.ts';

const boundedString = (max: number) => z.string().min(1).max(max);

const openIdTokenSchema = z.looseObject({
  access_token: boundedString(4096),
  token_type: z.string().max(64).optional(),
  matrix_server_name: boundedString(255),
  expires_in: z.number().int().nonnegative().optional(),
});

const delayFields = {
  delay_id: z.string().max(255).optional(),
  delay_timeout: z.number().int().positive().max(86_400_000).optional(),
  delay_cs_api_url: z.string().max(2048).optional(),
};

const sfuGetSchema = z.looseObject({
  room: boundedString(255),
  openid_token: openIdTokenSchema,
  device_id: boundedString(255),
  ...delayFields,
});

const getTokenSchema = z.looseObject({
  room_id: boundedString(255),
  slot_id: boundedString(255),
  openid_token: openIdTokenSchema,
  member: z.looseObject({
    id: boundedString(255),
    claimed_user_id: boundedString(255),
    claimed_device_id: boundedString(255),
  }),
  ...delayFields,
});

export interface DelayedLeave {
  delayId: string;
  timeoutMs: number;
  csApiUrl: string | undefined;
}

/** What both endpoints boil down to. */
export interface TokenRequest {
  endpoint: 'sfu_get' | 'get_token';
  roomId: string;
  slotId: string;
  openIdToken: z.infer<typeof openIdTokenSchema>;
  deviceId: string;
  /** MatrixRTC member id (/get_token only). */
  memberId: string | undefined;
  claimedUserId: string | undefined;
  delayedLeave: DelayedLeave | undefined;
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'Invalid request';
  const path = issue.path.map(String).join('.');
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) return `Missing ${path}`;
  return `Invalid ${path}: ${issue.message}`;
}

function delayed(body: {
  delay_id?: string | undefined;
  delay_timeout?: number | undefined;
  delay_cs_api_url?: string | undefined;
}): DelayedLeave | undefined {
  if (body.delay_id === undefined || body.delay_id === '' || body.delay_timeout === undefined) return undefined;
  return { delayId: body.delay_id, timeoutMs: body.delay_timeout, csApiUrl: body.delay_cs_api_url };
}

function checkCommon(roomId: string, deviceId: string, serverName: string): void {
  if (!isValidRoomId(roomId)) throw invalidParam('Not a valid Matrix room id', 'bad_room_id');
  if (!isValidDeviceId(deviceId)) throw invalidParam('Not a valid device id', 'bad_device_id');
  if (parseServerName(serverName) === undefined)
    throw invalidParam('matrix_server_name is not a valid server name', 'bad_server_name');
}

export function parseTokenRequest(endpoint: 'sfu_get' | 'get_token', body: unknown): TokenRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badJson('The request body must be a JSON object');
  if (endpoint === 'sfu_get') {
    const r = sfuGetSchema.safeParse(body);
    if (!r.success) throw badJson(describe(r.error));
    checkCommon(r.data.room, r.data.device_id, r.data.openid_token.matrix_server_name);
    return {
      endpoint,
      roomId: r.data.room,
      slotId: 'm.call#ROOM',
      openIdToken: r.data.openid_token,
      deviceId: r.data.device_id,
      memberId: undefined,
      claimedUserId: undefined,
      delayedLeave: delayed(r.data),
    };
  }
  const r = getTokenSchema.safeParse(body);
  if (!r.success) throw badJson(describe(r.error));
  // Revocation, webhooks and the call lifecycle follow the room's call slot; no other slot is served.
  if (r.data.slot_id !== 'm.call#ROOM')
    throw invalidParam('Only the m.call#ROOM slot is supported', 'unsupported_slot');
  checkCommon(r.data.room_id, r.data.member.claimed_device_id, r.data.openid_token.matrix_server_name);
  return {
    endpoint,
    roomId: r.data.room_id,
    slotId: r.data.slot_id,
    openIdToken: r.data.openid_token,
    deviceId: r.data.member.claimed_device_id,
    memberId: r.data.member.id,
    claimedUserId: r.data.member.claimed_user_id,
    delayedLeave: delayed(r.data),
  };
}

export const unauthorizedRequest = (reason: string): ApiError =>
  unauthorized('The request could not be authorised', reason);

/**
 * LiveKit room and participant names, derived exactly as element-hq/lk-jwt-service derives them so
 * an Element Call client and ours land in the same LiveKit room: SHA-256 of a JSON array, standard
 * base64 without padding.
 */
import { createHash } from 'node:crypto';

/** The slot every MatrixRTC room call uses today. */
export const ROOM_CALL_SLOT = 'm.call#ROOM';

const hashJson = (parts: readonly string[]): string =>
  createHash('sha256').update(JSON.stringify(parts)).digest('base64').replace(/=+$/, '');

/** LiveKit room name for a Matrix room's call slot. */
export const livekitRoomAlias = (roomId: string, slotId: string = ROOM_CALL_SLOT): string => hashJson([roomId, slotId]);

/** Identity on /get_token: hash of user, device and MatrixRTC member id. */
export const livekitIdentityForMember = (userId: string, deviceId: string, memberId: string): string =>
  hashJson([userId, deviceId, memberId]);

/** Identity on /sfu/get: what state-event MatrixRTC members publish as. */
export const livekitLegacyIdentity = (userId: string, deviceId: string): string => `${userId}:${deviceId}`;

/**
 * LiveKit rooms `causerie doctor` opens to see webhooks arrive: never a call (base64 hashes have
 * no `-`), acknowledged and otherwise ignored by the webhook handler.
 */
export const DOCTOR_ROOM_PREFIX = 'causerie-doctor-';

/**
 * The MatrixRTC membership this widget writes for its device, in exactly the shape Element Call
 * writes it (org.matrix.msc3401.call.member, per-device state key), so Element Call users and ours
 * see each other as members of one call.
 */
export const CALL_MEMBER_EVENT = 'org.matrix.msc3401.call.member';

/** How long a membership is valid if never renewed (Element Call: 4 h). */
export const MEMBERSHIP_EXPIRES_MS = 4 * 60 * 60 * 1000;

export function membershipStateKey(userId: string, deviceId: string, roomVersion = ''): string {
  const owned = roomVersion.startsWith('org.matrix.msc3757') || roomVersion.startsWith('org.matrix.msc3779');
  return `${owned ? '' : '_'}${userId}_${deviceId}_m.call`;
}

export function membershipContent(opts: {
  /** Our user: with it the content names our LiveKit identity (`membershipID`), as Element Call's does. */
  userId?: string;
  deviceId: string;
  roomId: string;
  serviceUrl: string;
  createdTs?: number;
}): Record<string, unknown> {
  return {
    application: 'm.call',
    call_id: '',
    scope: 'm.room',
    device_id: opts.deviceId,
    ...(opts.userId === undefined ? {} : { membershipID: `${opts.userId}:${opts.deviceId}` }),
    expires: MEMBERSHIP_EXPIRES_MS,
    'm.call.intent': 'video',
    ...(opts.createdTs === undefined ? {} : { created_ts: opts.createdTs }),
    focus_active: { type: 'livekit', focus_selection: 'multi_sfu' },
    foci_preferred: [{ type: 'livekit', livekit_service_url: opts.serviceUrl, livekit_alias: opts.roomId }],
  };
}

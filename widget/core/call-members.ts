/**
 * Who is in the call according to Matrix: the room's MatrixRTC memberships (legacy per-device
 * `org.matrix.msc3401.call.member` state, as Element Call and our widget write it) of users who are
 * still joined to the room. Media keys go to these devices and are accepted from them only. Pure:
 * fed raw state events (pushed state and live events alike), no widget API.
 */
import { CALL_MEMBER_EVENT } from './membership.ts';

export interface CallMember {
  userId: string;
  deviceId: string;
  /** When the membership was made (its `created_ts`, or the event's time). */
  createdTs: number;
  /** When it stops counting unless renewed. */
  expiresAt: number;
  /** The token service of the SFU it publishes on (its `foci_preferred[0]`), when it names one. */
  serviceUrl?: string | undefined;
}

/** Element Call's default membership lifetime when `expires` is absent. */
const DEFAULT_EXPIRES_MS = 4 * 60 * 60_000;
const MAX_ID = 255;

interface RawState {
  type?: unknown;
  state_key?: unknown;
  sender?: unknown;
  content?: unknown;
  origin_server_ts?: unknown;
}

/** The identity a legacy (state-event) member has on LiveKit: `@user:server:DEVICE`. */
export const memberIdentity = (m: { userId: string; deviceId: string }): string => `${m.userId}:${m.deviceId}`;

export class CallMembers {
  /** By state key. */
  private readonly memberships = new Map<string, CallMember>();
  /** Room membership by user id (join, leave, ban…). */
  private readonly roomMembership = new Map<string, string>();

  /** Takes any raw event; returns whether the call's members may have changed. */
  take(raw: unknown): boolean {
    const ev = (raw ?? {}) as RawState;
    if (typeof ev.state_key !== 'string' || typeof ev.type !== 'string') return false;
    const content = (typeof ev.content === 'object' && ev.content !== null ? ev.content : {}) as Record<
      string,
      unknown
    >;
    if (ev.type === 'm.room.member') {
      const m = typeof content['membership'] === 'string' ? content['membership'] : 'leave';
      const before = this.roomMembership.get(ev.state_key);
      this.roomMembership.set(ev.state_key, m);
      return before !== m;
    }
    if (ev.type !== CALL_MEMBER_EVENT) return false;
    const member = parseMembership(ev, content);
    const before = this.memberships.get(ev.state_key);
    if (member === undefined) {
      this.memberships.delete(ev.state_key);
      return before !== undefined;
    }
    this.memberships.set(ev.state_key, member);
    return (
      before?.createdTs !== member.createdTs ||
      before.deviceId !== member.deviceId ||
      before.expiresAt !== member.expiresAt
    );
  }

  /** Current members at `now`: unexpired memberships of users joined to the room, one per device. */
  current(now: number): CallMember[] {
    const out = new Map<string, CallMember>();
    for (const m of this.memberships.values()) {
      if (m.expiresAt <= now) continue;
      // A user we have not seen leave counts until we do (the state may arrive after the membership).
      const rm = this.roomMembership.get(m.userId);
      if (rm !== undefined && rm !== 'join') continue;
      out.set(memberIdentity(m), m);
    }
    return [...out.values()];
  }

  /** Whether `userId`'s device `deviceId` is in the call now. */
  has(userId: string, deviceId: string, now: number): boolean {
    return this.current(now).some((m) => m.userId === userId && m.deviceId === deviceId);
  }
}

/**
 * A membership from its state event, or undefined for a leave (`{}`) or anything malformed: the
 * state key must belong to the sender (`@u:hs_DEV_…` or `_@u:hs_DEV_…`), as the homeserver enforces
 * only in some room versions.
 */
function parseMembership(ev: RawState, content: Record<string, unknown>): CallMember | undefined {
  const sender = ev.sender;
  const key = ev.state_key as string;
  const deviceId = content['device_id'];
  if (typeof sender !== 'string' || sender.length > MAX_ID) return undefined;
  if (typeof deviceId !== 'string' || deviceId === '' || deviceId.length > MAX_ID) return undefined;
  if (content['application'] !== undefined && content['application'] !== 'm.call') return undefined;
  const owner = key.startsWith('_') ? key.slice(1) : key;
  if (!owner.startsWith(`${sender}_`)) return undefined;
  const sentAt = typeof ev.origin_server_ts === 'number' ? ev.origin_server_ts : Date.now();
  const createdTs = typeof content['created_ts'] === 'number' ? content['created_ts'] : sentAt;
  const expires = typeof content['expires'] === 'number' ? content['expires'] : DEFAULT_EXPIRES_MS;
  return { userId: sender, deviceId, createdTs, expiresAt: createdTs + expires, serviceUrl: serviceUrlOf(content) };
}

/** The first preferred LiveKit focus's service URL (an http(s) URL, without a trailing slash). */
function serviceUrlOf(content: Record<string, unknown>): string | undefined {
  const foci = content['foci_preferred'];
  const first: unknown = Array.isArray(foci) ? foci[0] : undefined;
  if (typeof first !== 'object' || first === null) return undefined;
  const f = first as Record<string, unknown>;
  const url = f['livekit_service_url'];
  if (f['type'] !== 'livekit' || typeof url !== 'string' || url.length > 2048 || !/^https?:\/\/[^\s]+$/.test(url))
    return undefined;
  return url.replace(/\/+$/, '');
}

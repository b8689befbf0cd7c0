/**
 * MatrixRTC membership events, read in the shapes clients write them today:
 * - `org.matrix.msc3401.call.member`, one state event per device, state key `_<user>_<device>_m.call`
 *   (or without the leading `_` in MSC3757/MSC3779 rooms), content with `device_id`, `expires`,
 *   `focus_active`, `foci_preferred`; `{}` means the device left;
 * - the original MSC3401 shape: state key = user id, content `{memberships: [...]}` (`m.calls`);
 * - sticky `org.matrix.msc4143.rtc.member` events (`member: {id, device_id, user_id}`).
 * The sender, not the state key, says who the member is: a membership whose state key names
 * another user than its sender is dropped (in room v12 any member may write `_@other_…` keys).
 * Pure: no I/O.
 */
import { livekitIdentityForMember, livekitLegacyIdentity } from './livekit-names.ts';
import { isValidDeviceId } from './matrix-ids.ts';

export const CALL_MEMBER_EVENT = 'org.matrix.msc3401.call.member';
export const RTC_MEMBER_EVENT = 'org.matrix.msc4143.rtc.member';

export interface RtcMembership {
  /** The state key the membership came from (`rtc:<member id>` for sticky events); an event for a
   * key replaces every membership under it. */
  stateKey: string;
  userId: string;
  deviceId: string;
  livekitIdentity: string;
  livekitServiceUrl: string | undefined;
  /** When the membership expires on its own, if it says. */
  expiresAt: Date | undefined;
}

export interface MembershipEvent {
  type: string;
  state_key?: string | undefined;
  sender: string;
  content: Record<string, unknown>;
  origin_server_ts?: number | undefined;
}

/** A non-empty string of bounded length (member ids, URLs): anything else is absent. */
const str = (v: unknown, max = 255): string | undefined =>
  typeof v === 'string' && v !== '' && v.length <= max ? v : undefined;

/** A device id that can be part of a LiveKit identity; anything else is absent. */
const device = (v: unknown): string | undefined => (typeof v === 'string' && isValidDeviceId(v) ? v : undefined);

/** Devices read from one MSC3401 `m.calls` event: a user has a handful, not thousands. */
const MAX_DEVICES_PER_EVENT = 32;
/** Timestamps past this are nonsense (year 2286), and would not fit a database timestamp. */
const MAX_TS = 1e13;

function serviceUrl(content: Record<string, unknown>): string | undefined {
  const foci = content['foci_preferred'];
  if (Array.isArray(foci)) {
    for (const f of foci as unknown[]) {
      if (typeof f === 'object' && f !== null) {
        const url = str((f as Record<string, unknown>)['livekit_service_url'], 2048);
        if (url !== undefined) return url;
      }
    }
  }
  return undefined;
}

const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function expiry(content: Record<string, unknown>, ts: number | undefined): Date | undefined {
  const expires = finite(content['expires']);
  const created = finite(content['created_ts']) ?? ts;
  let at: number | undefined;
  if (expires !== undefined && created !== undefined) at = created + expires;
  else at = finite(content['expires_ts']);
  // Out of range (negative, or beyond any real date) counts as "does not say".
  return at === undefined || at < 0 || at > MAX_TS ? undefined : new Date(at);
}

/** The user a per-device state key names: `_@u:s_DEV_m.call` or `@u:s_DEV_m.call`. */
function stateKeyUser(stateKey: string, deviceId: string): string | undefined {
  const key = stateKey.startsWith('_') ? stateKey.slice(1) : stateKey;
  const suffix = `_${deviceId}_m.call`;
  if (key.endsWith(suffix)) return key.slice(0, -suffix.length);
  // Some clients omit the application suffix.
  if (key.endsWith(`_${deviceId}`)) return key.slice(0, -(deviceId.length + 1));
  return undefined;
}

/**
 * The memberships one event sets, and whether it is a MatrixRTC event at all. A per-device event
 * with empty content (a leave) yields no membership for its key.
 */
export function parseMembershipEvent(ev: MembershipEvent): {
  rtc: boolean;
  stateKey: string | undefined;
  memberships: RtcMembership[];
} {
  if (ev.type === RTC_MEMBER_EVENT) {
    const member = ev.content['member'];
    if (typeof member !== 'object' || member === null) return { rtc: true, stateKey: undefined, memberships: [] };
    const m = member as Record<string, unknown>;
    const id = str(m['id']);
    const deviceId = device(m['device_id']);
    const userId = str(m['user_id']) ?? ev.sender;
    if (id === undefined) return { rtc: true, stateKey: undefined, memberships: [] };
    // Keyed by sender too: one member cannot overwrite another's entry by reusing its member id.
    const key = `rtc:${ev.sender}:${id}`;
    if (deviceId === undefined || userId !== ev.sender || ev.content['disconnected'] === true) {
      return { rtc: true, stateKey: key, memberships: [] };
    }
    return {
      rtc: true,
      stateKey: key,
      memberships: [
        {
          stateKey: key,
          userId,
          deviceId,
          livekitIdentity: livekitIdentityForMember(userId, deviceId, id),
          livekitServiceUrl: serviceUrl(ev.content),
          expiresAt: expiry(ev.content, ev.origin_server_ts),
        },
      ],
    };
  }
  if (ev.type !== CALL_MEMBER_EVENT || ev.state_key === undefined)
    return { rtc: false, stateKey: undefined, memberships: [] };
  // A per-device key is a user id, a device id and a suffix: a longer one names nothing we keep.
  if (ev.state_key.length > 600) return { rtc: true, stateKey: undefined, memberships: [] };
  const stateKey = ev.state_key;

  const legacy = ev.content['memberships'];
  if (Array.isArray(legacy)) {
    // MSC3401 m.calls shape: state key is the user, one entry per device.
    if (ev.state_key !== ev.sender) return { rtc: true, stateKey, memberships: [] };
    const out: RtcMembership[] = [];
    const seen = new Set<string>();
    for (const entry of (legacy as unknown[]).slice(0, MAX_DEVICES_PER_EVENT)) {
      if (typeof entry !== 'object' || entry === null) continue;
      const e = entry as Record<string, unknown>;
      const deviceId = device(e['device_id']);
      // A device listed twice counts once (the first entry wins).
      if (deviceId === undefined || seen.has(deviceId)) continue;
      seen.add(deviceId);
      out.push({
        stateKey: ev.state_key,
        userId: ev.sender,
        deviceId,
        livekitIdentity: livekitLegacyIdentity(ev.sender, deviceId),
        livekitServiceUrl: serviceUrl(e),
        expiresAt: expiry(e, ev.origin_server_ts),
      });
    }
    return { rtc: true, stateKey, memberships: out };
  }

  const deviceId = device(ev.content['device_id']);
  if (deviceId === undefined) return { rtc: true, stateKey, memberships: [] }; // `{}`: left
  const named = stateKeyUser(ev.state_key, deviceId);
  if (named !== ev.sender) return { rtc: true, stateKey, memberships: [] };
  return {
    rtc: true,
    stateKey,
    memberships: [
      {
        stateKey: ev.state_key,
        userId: ev.sender,
        deviceId,
        livekitIdentity: livekitLegacyIdentity(ev.sender, deviceId),
        livekitServiceUrl: serviceUrl(ev.content),
        expiresAt: expiry(ev.content, ev.origin_server_ts),
      },
    ],
  };
}

/** The per-device state key Element Call writes for a user's device in a room of this version. */
export function callMemberStateKey(userId: string, deviceId: string, roomVersion: string): string {
  const owned = roomVersion.startsWith('org.matrix.msc3757') || roomVersion.startsWith('org.matrix.msc3779');
  return `${owned ? '' : '_'}${userId}_${deviceId}_m.call`;
}

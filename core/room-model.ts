/**
 * The room model shared by the appservice and the token service: members (with display names),
 * power levels, creators, MatrixRTC memberships, and how a state event changes them. Pure: no I/O.
 */
import {
  createContent,
  memberContent,
  parsePowerLevels,
  type MatrixEvent,
  type Membership,
  type PowerLevels,
} from './matrix-events.ts';
import { CALL_MEMBER_EVENT, parseMembershipEvent, RTC_MEMBER_EVENT, type RtcMembership } from './rtc-membership.ts';

export { parsePowerLevels, type PowerLevels };

/** The bot is not in the room (or it does not exist): nothing about it can be known. */
export class RoomNotVisibleError extends Error {
  constructor(readonly roomId: string) {
    super(`the bot is not in ${roomId}`);
    this.name = 'RoomNotVisibleError';
  }
}

export interface RoomMember {
  membership: Membership;
  displayname: string | undefined;
}

export interface RoomView {
  roomId: string;
  roomVersion: string;
  /** Users with unlimited power (room v12+: the creator and additional_creators). */
  creators: ReadonlySet<string>;
  members: ReadonlyMap<string, RoomMember>;
  powerLevels: PowerLevels;
  /** Whether a user of this server is joined or invited (absent in hand-made views: not checked). */
  hasServer?(server: string): boolean;
}

export interface CallRoomView extends RoomView {
  /** MatrixRTC memberships by the state key that set them. */
  rtc: ReadonlyMap<string, readonly RtcMembership[]>;
  /** The LiveKit identities a user's MatrixRTC memberships name (absent in hand-made views). */
  rtcIdentitiesOf?(userId: string): string[];
}

export interface RoomSnapshot {
  roomId: string;
  roomVersion: string;
  creators: string[];
  createSender: string | undefined;
  powerLevels: Record<string, unknown> | undefined;
  members: [string, RoomMember][];
  rtc: RtcMembership[];
  /** When the room was last read in full from the homeserver. */
  syncedAt?: Date | undefined;
}

export type RoomChange =
  | { kind: 'create'; roomVersion: string; creators: string[]; createSender: string }
  | { kind: 'power_levels'; content: PowerLevels }
  | { kind: 'member'; userId: string; membership: Membership; displayname: string | undefined }
  | { kind: 'rtc'; stateKey: string; memberships: RtcMembership[] };

/** MatrixRTC memberships (state keys) kept per member and room; as many as identities per user. */
const MAX_RTC_PER_USER = 32;

/** Room versions in which creators have unlimited power (MSC4289, room v12 and later). */
function creatorsPrivileged(version: string): boolean {
  const n = Number(version);
  return (Number.isInteger(n) && n >= 12) || version.startsWith('org.matrix.hydra');
}

/**
 * A room as the bot sees it, kept current by applying its state events one by one. Pure: no I/O;
 * the cache (appservice/room-cache.ts) reads, stores and refreshes it.
 */
export class RoomModel implements CallRoomView {
  roomVersion = '1';
  creators = new Set<string>();
  members = new Map<string, RoomMember>();
  rtc = new Map<string, RtcMembership[]>();
  powerLevels: PowerLevels = parsePowerLevels(undefined);
  /** The room's power levels event as decoded (undefined: the room has none). */
  powerLevelsContent: PowerLevels | undefined;
  createSender: string | undefined;
  /** Joined or invited members per server: asked on every token request, so kept, not counted. */
  private readonly servers = new Map<string, number>();
  /** MatrixRTC state keys per sender. */
  /** MatrixRTC state keys per sender (to cap them, and to find a user's identities without a scan). */
  private readonly rtcKeys = new Map<string, Set<string>>();

  constructor(
    readonly roomId: string,
    public loadedAt: number,
  ) {}

  static fromSnapshot(s: RoomSnapshot, loadedAt: number): RoomModel {
    const room = new RoomModel(s.roomId, loadedAt);
    room.roomVersion = s.roomVersion;
    room.creators = new Set(s.creators);
    room.createSender = s.createSender;
    room.powerLevelsContent = s.powerLevels === undefined ? undefined : parsePowerLevels(s.powerLevels);
    room.powerLevels = parsePowerLevels(room.powerLevelsContent, s.createSender);
    for (const [u, m] of s.members) room.setMember(u, m);
    for (const m of s.rtc) {
      room.trackRtc(m.userId, m.stateKey, true);
      room.rtc.set(m.stateKey, [...(room.rtc.get(m.stateKey) ?? []), m]);
    }
    return room;
  }

  snapshot(): RoomSnapshot {
    return {
      roomId: this.roomId,
      roomVersion: this.roomVersion,
      creators: [...this.creators],
      createSender: this.createSender,
      powerLevels: this.powerLevelsContent,
      members: [...this.members],
      rtc: [...this.rtc.values()].flat(),
    };
  }

  private trackRtc(userId: string, stateKey: string, present: boolean): void {
    const keys = this.rtcKeys.get(userId) ?? new Set<string>();
    if (present) keys.add(stateKey);
    else keys.delete(stateKey);
    if (keys.size > 0) this.rtcKeys.set(userId, keys);
    else this.rtcKeys.delete(userId);
  }

  /** The LiveKit identities a user's MatrixRTC memberships name. */
  rtcIdentitiesOf(userId: string): string[] {
    const out: string[] = [];
    for (const key of this.rtcKeys.get(userId) ?? [])
      for (const m of this.rtc.get(key) ?? []) if (m.userId === userId) out.push(m.livekitIdentity);
    return out;
  }

  hasServer(server: string): boolean {
    return (this.servers.get(server) ?? 0) > 0;
  }

  private setMember(userId: string, m: RoomMember): void {
    const present = (x: RoomMember | undefined): boolean => x?.membership === 'join' || x?.membership === 'invite';
    const before = present(this.members.get(userId));
    this.members.set(userId, m);
    const after = present(m);
    if (before === after) return;
    const server = userId.slice(userId.indexOf(':') + 1);
    const n = (this.servers.get(server) ?? 0) + (after ? 1 : -1);
    if (n > 0) this.servers.set(server, n);
    else this.servers.delete(server);
  }

  /** Applies a state event; returns what changed, for the store. */
  apply(ev: MatrixEvent): RoomChange | undefined {
    if (ev.type === RTC_MEMBER_EVENT || ev.type === CALL_MEMBER_EVENT) {
      const parsed = parseMembershipEvent(ev);
      if (parsed.stateKey === undefined) return undefined;
      if (parsed.memberships.length === 0) {
        this.trackRtc(ev.sender, parsed.stateKey, false);
        this.rtc.delete(parsed.stateKey);
      } else {
        if (!this.rtc.has(parsed.stateKey)) {
          // A member makes a membership per device or session, not thousands: each one multiplies
          // what a ban must remove, so past the cap new ones are not kept.
          if ((this.rtcKeys.get(ev.sender)?.size ?? 0) >= MAX_RTC_PER_USER) return undefined;
          this.trackRtc(ev.sender, parsed.stateKey, true);
        }
        this.rtc.set(parsed.stateKey, parsed.memberships);
      }
      return { kind: 'rtc', stateKey: parsed.stateKey, memberships: parsed.memberships };
    }
    if (ev.state_key === undefined) return undefined;
    switch (ev.type) {
      case 'm.room.create': {
        const create = createContent(ev.content);
        this.createSender = ev.sender;
        this.roomVersion = create.roomVersion;
        this.creators = new Set();
        if (creatorsPrivileged(this.roomVersion)) {
          this.creators.add(ev.sender);
          for (const u of create.additionalCreators) this.creators.add(u);
        }
        this.powerLevels = parsePowerLevels(this.powerLevelsContent, ev.sender);
        return { kind: 'create', roomVersion: this.roomVersion, creators: [...this.creators], createSender: ev.sender };
      }
      case 'm.room.power_levels': {
        // Stored decoded, never as the raw content a member chose.
        const decoded = parsePowerLevels(ev.content);
        this.powerLevelsContent = decoded;
        this.powerLevels = parsePowerLevels(decoded, this.createSender);
        return { kind: 'power_levels', content: decoded };
      }
      case 'm.room.member': {
        const member = memberContent(ev.content);
        if (member === undefined) return undefined;
        const { membership, displayname } = member;
        this.setMember(ev.state_key, { membership, displayname });
        return { kind: 'member', userId: ev.state_key, membership, displayname };
      }
      default:
        return undefined;
    }
  }
}

/** Power level of a user in a room (creators of v12+ rooms: unlimited). */
export function powerOf(room: RoomView, userId: string): number {
  if (room.creators.has(userId)) return Number.POSITIVE_INFINITY;
  return room.powerLevels.users[userId] ?? room.powerLevels.users_default;
}

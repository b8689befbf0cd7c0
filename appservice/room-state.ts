/**
 * The appservice's view of the rooms its bot is in: members (with display names), power levels,
 * creators, MatrixRTC memberships. Kept in memory for the token service's hot path, persisted
 * through RoomStore so a restart does not lose it, filled from the homeserver when the bot joins a
 * room (or at start for rooms missing from the database), and kept current by the events of
 * appservice transactions.
 */
import { HomeserverError, type HomeserverClient } from './homeserver-client.ts';
import {
  createContent,
  decodeEvent,
  memberContent,
  parsePowerLevels,
  type MatrixEvent,
  type Membership,
  type PowerLevels,
} from './matrix-events.ts';
import type { RoomChange, RoomSnapshot, RoomStore, StoredChange } from './room-store.ts';
import { CALL_MEMBER_EVENT, parseMembershipEvent, RTC_MEMBER_EVENT, type RtcMembership } from './rtc-membership.ts';

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
}

export { parsePowerLevels, type PowerLevels };

export class RoomNotVisibleError extends Error {
  constructor(readonly roomId: string) {
    super(`the bot is not in ${roomId}`);
    this.name = 'RoomNotVisibleError';
  }
}

/** Room versions in which creators have unlimited power (MSC4289, room v12 and later). */
function creatorsPrivileged(version: string): boolean {
  const n = Number(version);
  return (Number.isInteger(n) && n >= 12) || version.startsWith('org.matrix.hydra');
}

class MutableRoom implements CallRoomView {
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
  private readonly rtcPerUser = new Map<string, number>();

  constructor(
    readonly roomId: string,
    public loadedAt: number,
  ) {}

  static fromSnapshot(s: RoomSnapshot, loadedAt: number): MutableRoom {
    const room = new MutableRoom(s.roomId, loadedAt);
    room.roomVersion = s.roomVersion;
    room.creators = new Set(s.creators);
    room.createSender = s.createSender;
    room.powerLevelsContent = s.powerLevels === undefined ? undefined : parsePowerLevels(s.powerLevels);
    room.powerLevels = parsePowerLevels(room.powerLevelsContent, s.createSender);
    for (const [u, m] of s.members) room.setMember(u, m);
    for (const m of s.rtc) {
      if (!room.rtc.has(m.stateKey)) room.countRtc(m.userId, 1);
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

  private countRtc(userId: string, delta: number): void {
    const n = (this.rtcPerUser.get(userId) ?? 0) + delta;
    if (n > 0) this.rtcPerUser.set(userId, n);
    else this.rtcPerUser.delete(userId);
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
        if (this.rtc.has(parsed.stateKey)) this.countRtc(ev.sender, -1);
        this.rtc.delete(parsed.stateKey);
      } else {
        if (!this.rtc.has(parsed.stateKey)) {
          // A member makes a membership per device or session, not thousands: each one multiplies
          // what a ban must remove, so past the cap new ones are not kept.
          if ((this.rtcPerUser.get(ev.sender) ?? 0) >= MAX_RTC_PER_USER) return undefined;
          this.countRtc(ev.sender, 1);
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

export interface RoomStatesOptions {
  homeserver: Pick<HomeserverClient, 'roomState' | 'memberState'>;
  store: RoomStore;
  botUserId: string;
  /** A room is re-read from the homeserver after this long, in case an event was missed. */
  refreshMs?: number;
  now?: () => number;
}

interface Inflight {
  promise: Promise<MutableRoom>;
  /** Events that arrived while the room was being read (bounded: a read takes seconds at most). */
  flags: { arrived: MatrixEvent[] };
}

/** MatrixRTC memberships (state keys) kept per member and room; as many as identities per user. */
const MAX_RTC_PER_USER = 32;

/** How long "the bot is not in this room" is remembered, so unknown room ids cost no homeserver read. */
const NOT_VISIBLE_MS = 60_000;
const NOT_VISIBLE_MAX = 10_000;

export class RoomStates {
  private readonly rooms = new Map<string, MutableRoom>();
  private readonly inflight = new Map<string, Inflight>();
  /** Count of events applied per room, to tell whether one arrived during a homeserver read. */
  private readonly applied = new Map<string, number>();
  /** Rooms the homeserver said the bot is not in, until when (bounded, oldest dropped first). */
  private readonly notVisible = new Map<string, number>();
  /**
   * Why the view may be behind the homeserver right now (a transaction held back, a failed read),
   * or undefined when it is current. While set, grants confirm with the homeserver first.
   */
  private staleReason: string | undefined;
  /** Rooms whose last read from the homeserver failed: their copy may be behind until one succeeds. */
  private readonly failedReads = new Set<string>();
  private readonly now: () => number;
  private readonly refreshMs: number;

  constructor(private readonly opts: RoomStatesOptions) {
    this.now = opts.now ?? Date.now;
    this.refreshMs = opts.refreshMs ?? 10 * 60_000;
  }

  /** Loads every room kept in the database (at start). */
  async loadFromStore(): Promise<number> {
    const snapshots = await this.opts.store.loadRooms();
    // A copy's age is that of its last full read: an old one is re-read on first use.
    for (const s of snapshots) this.rooms.set(s.roomId, MutableRoom.fromSnapshot(s, s.syncedAt?.getTime() ?? 0));
    return snapshots.length;
  }

  /** Rooms currently known. */
  roomIds(): string[] {
    return [...this.rooms.keys()];
  }

  /** The room if already known, without asking anyone. */
  peek(roomId: string): CallRoomView | undefined {
    return this.rooms.get(roomId);
  }

  /** Marks the view as possibly behind the homeserver (why), or current again (undefined). */
  setStale(reason: string | undefined): void {
    this.staleReason = reason;
  }

  /** Why the view (of this room) may be behind the homeserver, if it may be. */
  stale(roomId?: string): string | undefined {
    if (this.staleReason !== undefined) return this.staleReason;
    return roomId !== undefined && this.failedReads.has(roomId) ? 'room_read_failed' : undefined;
  }

  /** Every room is re-read on its next use (after the homeserver was unreachable for a while). */
  expireAll(): void {
    for (const room of this.rooms.values()) room.loadedAt = 0;
  }

  /** The room as the bot sees it; rejects with RoomNotVisibleError if the bot is not in it. */
  async get(roomId: string): Promise<CallRoomView> {
    const cached = this.rooms.get(roomId);
    if (cached !== undefined && this.now() - cached.loadedAt < this.refreshMs) return cached;
    if (cached !== undefined) {
      // Old: serve what we have and re-read behind (events keep it current in between anyway).
      this.refresh(roomId).catch(() => undefined);
      return cached;
    }
    const hidden = this.notVisible.get(roomId);
    if (hidden !== undefined && hidden > this.now()) throw new RoomNotVisibleError(roomId);
    return this.refresh(roomId);
  }

  private rememberNotVisible(roomId: string): void {
    this.notVisible.delete(roomId);
    this.notVisible.set(roomId, this.now() + NOT_VISIBLE_MS);
    if (this.notVisible.size > NOT_VISIBLE_MAX) {
      const oldest = this.notVisible.keys().next();
      if (oldest.done !== true) this.notVisible.delete(oldest.value);
    }
  }

  /** Reads the room's full state from the homeserver, replacing our copy. */
  refresh(roomId: string): Promise<MutableRoom> {
    const running = this.inflight.get(roomId);
    if (running !== undefined) return running.promise;
    // Reading the state races with events arriving meanwhile: those are kept and applied again on
    // top of the read (applying a state event twice changes nothing), so the answer is never older
    // than an event we already saw, however busy the room.
    const flags: Inflight['flags'] = { arrived: [] };
    const promise = (async () => {
      try {
        const room = await this.load(roomId);
        for (const ev of flags.arrived) room.apply(ev);
        this.rooms.set(roomId, room);
        this.notVisible.delete(roomId);
        this.failedReads.delete(roomId);
        await this.opts.store.saveSnapshot(room.snapshot());
        return room;
      } catch (err) {
        if (err instanceof RoomNotVisibleError) this.rememberNotVisible(roomId);
        else if (this.rooms.has(roomId)) {
          this.failedReads.add(roomId);
          if (this.failedReads.size > NOT_VISIBLE_MAX)
            this.failedReads.delete(this.failedReads.values().next().value ?? '');
        }
        throw err;
      } finally {
        this.inflight.delete(roomId);
      }
    })();
    this.inflight.set(roomId, { promise, flags });
    return promise;
  }

  private async load(roomId: string): Promise<MutableRoom> {
    let raw: unknown;
    try {
      raw = await this.opts.homeserver.roomState(roomId);
    } catch (err) {
      if (err instanceof HomeserverError && (err.status === 403 || err.status === 404))
        throw new RoomNotVisibleError(roomId);
      throw err;
    }
    // The room's state is written by its members: decoded like transaction events, bad ones left out.
    const events: MatrixEvent[] = [];
    if (Array.isArray(raw)) {
      for (const item of raw as unknown[]) {
        const d = decodeEvent(item);
        if (d.ok) events.push(d.event);
      }
    }
    const room = new MutableRoom(roomId, this.now());
    // The create event first: the others are read in its light.
    for (const ev of events) if (ev.type === 'm.room.create') room.apply(ev);
    for (const ev of events) if (ev.type !== 'm.room.create') room.apply(ev);
    if (room.members.get(this.opts.botUserId)?.membership !== 'join') throw new RoomNotVisibleError(roomId);
    return room;
  }

  /**
   * Asks the homeserver for one member's current state in a room and folds it into the view. Used
   * before refusing someone (a join may have reached the homeserver a moment before its
   * transaction reaches us) and before granting while the view may be behind.
   */
  async confirmMember(roomId: string, userId: string): Promise<RoomView> {
    const seenBefore = this.applied.get(roomId) ?? 0;
    let content: Record<string, unknown> | undefined;
    try {
      content = await this.opts.homeserver.memberState(roomId, userId);
    } catch (err) {
      if (!(err instanceof HomeserverError && err.status === 404)) throw err;
      content = undefined;
    }
    const room = this.rooms.get(roomId) ?? (await this.refresh(roomId));
    // Only fold the answer in if no event for this room arrived meanwhile (it could be newer).
    if (content !== undefined && (this.applied.get(roomId) ?? 0) === seenBefore) {
      const change = room.apply({ type: 'm.room.member', state_key: userId, sender: userId, content, room_id: roomId });
      if (change !== undefined) await this.opts.store.applyChange(roomId, change);
    }
    return room;
  }

  /**
   * Applies a state event from an appservice transaction to the view in memory, at once (so a ban
   * takes effect even while the database is unreachable). Returns the change for revocation and
   * call logic, or undefined if it changes nothing we keep; `persist` then stores it.
   */
  apply(ev: MatrixEvent): RoomChange | undefined {
    if (ev.room_id === undefined || (ev.state_key === undefined && ev.type !== RTC_MEMBER_EVENT)) return undefined;
    this.applied.set(ev.room_id, (this.applied.get(ev.room_id) ?? 0) + 1);
    const flight = this.inflight.get(ev.room_id);
    if (flight !== undefined && flight.flags.arrived.length < 10_000) flight.flags.arrived.push(ev);
    const room = this.rooms.get(ev.room_id);
    if (room === undefined) return undefined;
    const change = room.apply(ev);
    if (change === undefined) return undefined;
    if (change.kind === 'member' && change.userId === this.opts.botUserId && change.membership !== 'join') {
      this.rooms.delete(ev.room_id);
    }
    return change;
  }

  /**
   * Stores a change `apply` made (idempotent: a re-sent transaction stores it again) — at once, or
   * into `pending` when given, for `flush` to store a whole transaction's changes together.
   */
  async persist(roomId: string, change: RoomChange, pending?: StoredChange[]): Promise<void> {
    const stored: StoredChange =
      change.kind === 'member' && change.userId === this.opts.botUserId && change.membership !== 'join'
        ? { roomId, delete: true }
        : { roomId, change };
    if (pending !== undefined) pending.push(stored);
    else await this.opts.store.applyChanges([stored]);
  }

  /** Stores the changes collected in `pending` (and empties it). */
  async flush(pending: StoredChange[]): Promise<void> {
    const changes = pending.splice(0);
    await this.opts.store.applyChanges(changes);
  }

  /** `apply` then `persist`. */
  async applyEvent(ev: MatrixEvent): Promise<RoomChange | undefined> {
    const change = this.apply(ev);
    if (change !== undefined && ev.room_id !== undefined) await this.persist(ev.room_id, change);
    return change;
  }

  /** Power level of a user in a room view. */
  static powerOf(room: RoomView, userId: string): number {
    if (room.creators.has(userId)) return Number.POSITIVE_INFINITY;
    return room.powerLevels.users[userId] ?? room.powerLevels.users_default;
  }
}

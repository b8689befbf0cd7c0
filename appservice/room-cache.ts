/**
 * The appservice's view of the rooms its bot is in: members (with display names), power levels,
 * creators, MatrixRTC memberships. Kept in memory for the token service's hot path, persisted
 * through RoomStore so a restart does not lose it, filled from the homeserver when the bot joins a
 * room (or at start for rooms missing from the database), and kept current by the events of
 * appservice transactions.
 */
import { HomeserverError, type HomeserverClient } from './homeserver-client.ts';
import { decodeEvent, type MatrixEvent } from '../core/matrix-events.ts';
import {
  RoomModel,
  RoomNotVisibleError,
  type CallRoomView,
  type RoomChange,
  type RoomView,
} from '../core/room-model.ts';
import type { RoomStore, StoredChange } from './room-store.ts';
import { RTC_MEMBER_EVENT } from '../core/rtc-membership.ts';

export interface RoomStatesOptions {
  homeserver: Pick<HomeserverClient, 'roomState' | 'memberState'>;
  store: RoomStore;
  botUserId: string;
  /** A room is re-read from the homeserver after this long, in case an event was missed. */
  refreshMs?: number;
  now?: () => number;
}

interface Inflight {
  promise: Promise<RoomModel>;
  /** Events that arrived while the room was being read (bounded: a read takes seconds at most). */
  flags: { arrived: MatrixEvent[] };
}

/** How long "the bot is not in this room" is remembered, so unknown room ids cost no homeserver read. */
const NOT_VISIBLE_MS = 60_000;
const NOT_VISIBLE_MAX = 10_000;

export class RoomStates {
  private readonly rooms = new Map<string, RoomModel>();
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
    for (const s of snapshots) this.rooms.set(s.roomId, RoomModel.fromSnapshot(s, s.syncedAt?.getTime() ?? 0));
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
  refresh(roomId: string): Promise<RoomModel> {
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

  private async load(roomId: string): Promise<RoomModel> {
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
    const room = new RoomModel(roomId, this.now());
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
}

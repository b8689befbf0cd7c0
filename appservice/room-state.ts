/**
 * The appservice's view of the rooms its bot is in: who is joined (and their display name), power
 * levels, and the room's creators. Filled from the homeserver on first use and kept current by the
 * events that arrive in appservice transactions, so the token service answers "is this user joined
 * right now, with what power?" from memory.
 */
import { HomeserverError, type HomeserverClient, type MatrixStateEvent } from './homeserver-client.ts';

export interface PowerLevels {
  users: Record<string, number>;
  users_default: number;
  events: Record<string, number>;
  state_default: number;
}

export interface RoomMember {
  membership: string;
  displayname: string | undefined;
}

export interface RoomView {
  roomId: string;
  roomVersion: string;
  /** Users with unlimited power (room v12+: the creator and additional_creators). */
  creators: ReadonlySet<string>;
  members: ReadonlyMap<string, RoomMember>;
  powerLevels: PowerLevels;
}

export class RoomNotVisibleError extends Error {
  constructor(readonly roomId: string) {
    super(`the bot is not in ${roomId}`);
    this.name = 'RoomNotVisibleError';
  }
}

const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

function numberMap(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) if (typeof x === 'number' && Number.isFinite(x)) out[k] = x;
  }
  return out;
}

export function parsePowerLevels(content: Record<string, unknown> | undefined, creator?: string): PowerLevels {
  if (content === undefined) {
    // No power levels event: the spec's defaults, creator at 100.
    return { users: creator === undefined ? {} : { [creator]: 100 }, users_default: 0, events: {}, state_default: 0 };
  }
  return {
    users: numberMap(content['users']),
    users_default: num(content['users_default'], 0),
    events: numberMap(content['events']),
    state_default: num(content['state_default'], 50),
  };
}

/** Room versions in which creators have unlimited power (MSC4289, room v12 and later). */
function creatorsPrivileged(version: string): boolean {
  const n = Number(version);
  return (Number.isInteger(n) && n >= 12) || version.startsWith('org.matrix.hydra');
}

class MutableRoom implements RoomView {
  roomVersion = '1';
  creators = new Set<string>();
  members = new Map<string, RoomMember>();
  powerLevels: PowerLevels = parsePowerLevels(undefined);
  private createSender: string | undefined;
  private sawPowerLevels = false;
  constructor(
    readonly roomId: string,
    readonly loadedAt: number,
  ) {}

  apply(ev: MatrixStateEvent): void {
    if (ev.state_key === undefined) return;
    switch (ev.type) {
      case 'm.room.create': {
        this.createSender = ev.sender;
        this.roomVersion = typeof ev.content['room_version'] === 'string' ? ev.content['room_version'] : '1';
        this.creators = new Set();
        if (creatorsPrivileged(this.roomVersion)) {
          this.creators.add(ev.sender);
          const extra = ev.content['additional_creators'];
          if (Array.isArray(extra)) for (const u of extra) if (typeof u === 'string') this.creators.add(u);
        }
        if (!this.sawPowerLevels) this.powerLevels = parsePowerLevels(undefined, ev.sender);
        break;
      }
      case 'm.room.power_levels':
        this.sawPowerLevels = true;
        this.powerLevels = parsePowerLevels(ev.content, this.createSender);
        break;
      case 'm.room.member': {
        const membership = typeof ev.content['membership'] === 'string' ? ev.content['membership'] : 'leave';
        const displayname = typeof ev.content['displayname'] === 'string' ? ev.content['displayname'] : undefined;
        this.members.set(ev.state_key, { membership, displayname });
        break;
      }
      default:
        break;
    }
  }
}

export interface RoomStatesOptions {
  homeserver: Pick<HomeserverClient, 'roomState' | 'memberState'>;
  botUserId: string;
  /** A cached room is re-read from the homeserver after this long, in case an event was missed. */
  refreshMs?: number;
  now?: () => number;
}

interface Inflight {
  promise: Promise<MutableRoom>;
  flags: { dirty: boolean };
}

export class RoomStates {
  private readonly rooms = new Map<string, MutableRoom>();
  private readonly inflight = new Map<string, Inflight>();
  /** Count of events applied per room, to tell whether one arrived during a homeserver read. */
  private readonly applied = new Map<string, number>();
  private readonly now: () => number;
  private readonly refreshMs: number;

  constructor(private readonly opts: RoomStatesOptions) {
    this.now = opts.now ?? Date.now;
    this.refreshMs = opts.refreshMs ?? 10 * 60_000;
  }

  /** The room as the bot sees it; rejects with RoomNotVisibleError if the bot is not in it. */
  async get(roomId: string): Promise<RoomView> {
    const cached = this.rooms.get(roomId);
    if (cached !== undefined && this.now() - cached.loadedAt < this.refreshMs) return cached;
    const running = this.inflight.get(roomId);
    if (running !== undefined) return running.promise;
    // Reading the state races with events arriving meanwhile: if one does, read again so the
    // answer cannot be older than an event we already saw.
    const flags = { dirty: false };
    // Read through a function: the flag changes while we await, which narrowing cannot see.
    const dirty = (): boolean => flags.dirty;
    const promise = (async () => {
      for (let attempt = 0; ; attempt++) {
        flags.dirty = false;
        const room = await this.load(roomId);
        if (!dirty() || attempt >= 3) {
          if (!dirty()) this.rooms.set(roomId, room);
          return room;
        }
      }
    })();
    const entry: Inflight = { promise, flags };
    this.inflight.set(roomId, entry);
    try {
      return await entry.promise;
    } finally {
      this.inflight.delete(roomId);
    }
  }

  private async load(roomId: string): Promise<MutableRoom> {
    let events: MatrixStateEvent[];
    try {
      events = await this.opts.homeserver.roomState(roomId);
    } catch (err) {
      if (err instanceof HomeserverError && (err.status === 403 || err.status === 404))
        throw new RoomNotVisibleError(roomId);
      throw err;
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
   * before refusing someone: a join may have reached the homeserver a moment before its
   * transaction reaches us.
   */
  async confirmMember(roomId: string, userId: string): Promise<RoomView> {
    const room = this.rooms.get(roomId);
    const seenBefore = this.applied.get(roomId) ?? 0;
    let content: Record<string, unknown> | undefined;
    try {
      content = await this.opts.homeserver.memberState(roomId, userId);
    } catch (err) {
      if (!(err instanceof HomeserverError && err.status === 404)) throw err;
      content = undefined;
    }
    const fresh = room ?? (await this.get(roomId));
    // Only fold the answer in if no event for this room arrived meanwhile (it could be newer).
    if (content !== undefined && (this.applied.get(roomId) ?? 0) === seenBefore && fresh instanceof MutableRoom) {
      fresh.apply({ type: 'm.room.member', state_key: userId, sender: userId, content, room_id: roomId });
    }
    return fresh;
  }

  /** Applies a state event from an appservice transaction. */
  applyEvent(ev: MatrixStateEvent): void {
    if (ev.room_id === undefined || ev.state_key === undefined) return;
    const flight = this.inflight.get(ev.room_id);
    if (flight !== undefined) flight.flags.dirty = true;
    this.applied.set(ev.room_id, (this.applied.get(ev.room_id) ?? 0) + 1);
    const room = this.rooms.get(ev.room_id);
    if (room === undefined) return;
    room.apply(ev);
    if (
      ev.type === 'm.room.member' &&
      ev.state_key === this.opts.botUserId &&
      room.members.get(ev.state_key)?.membership !== 'join'
    ) {
      this.rooms.delete(ev.room_id);
    }
  }

  /** Power level of a user in a room view. */
  static powerOf(room: RoomView, userId: string): number {
    if (room.creators.has(userId)) return Number.POSITIVE_INFINITY;
    return room.powerLevels.users[userId] ?? room.powerLevels.users_default;
  }
}

/**
 * Publish locks: a moderator who mutes someone may keep them muted — the person cannot turn that
 * source (microphone or camera) back on until a moderator allows it. The lock holds at the SFU (the
 * participant's permission loses the source) and across rejoins (tokens for that call leave the
 * source out). Kept in memory for the token path (no database read per token) and written through
 * to the database for restarts. A lock belongs to one call: one older than the LiveKit room (the
 * room was closed and a new call began) is void, checked only when a locked user asks for a token.
 */
import type { RoomServiceClient } from 'livekit-server-sdk';

import type { Queryable } from '../schema/database.ts';

export type LockableSource = 'microphone' | 'camera';

interface Lock {
  by: string;
  at: number;
}

export class PublishLocks {
  /** livekit room → user → source → lock. */
  private readonly locks = new Map<string, Map<string, Map<LockableSource, Lock>>>();

  constructor(
    private readonly db: Queryable,
    private readonly livekit: Pick<RoomServiceClient, 'listRooms'>,
  ) {}

  async load(): Promise<number> {
    const rows = await this.db.query<{
      livekit_room: string;
      user_id: string;
      source: LockableSource;
      locked_by: string;
      locked_at: Date;
    }>('SELECT livekit_room, user_id, source, locked_by, locked_at FROM publish_locks');
    for (const r of rows)
      this.put(r.livekit_room, r.user_id, r.source, { by: r.locked_by, at: new Date(r.locked_at).getTime() });
    return rows.length;
  }

  async lock(room: string, userId: string, source: LockableSource, by: string): Promise<void> {
    const at = Date.now();
    await this.db.query(
      `INSERT INTO publish_locks (livekit_room, user_id, source, locked_by, locked_at) VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0))
       ON CONFLICT (livekit_room, user_id, source) DO UPDATE SET locked_by = $4, locked_at = to_timestamp($5 / 1000.0)`,
      [room, userId, source, by, at],
    );
    this.put(room, userId, source, { by, at });
  }

  /** Lifts a user's locks (all sources); whether there were any. */
  async unlock(room: string, userId: string): Promise<boolean> {
    await this.db.query('DELETE FROM publish_locks WHERE livekit_room = $1 AND user_id = $2', [room, userId]);
    return this.locks.get(room)?.delete(userId) === true;
  }

  /** Lifts every lock of a call (it ended). */
  async unlockRoom(room: string): Promise<void> {
    await this.db.query('DELETE FROM publish_locks WHERE livekit_room = $1', [room]);
    this.locks.delete(room);
  }

  /** The sources locked for a user in this call (none for nearly everyone: no I/O then). */
  async locked(room: string, userId: string): Promise<Set<LockableSource>> {
    const mine = this.locks.get(room)?.get(userId);
    if (mine === undefined || mine.size === 0) return new Set();
    // A lock from an earlier call in this room is void: LiveKit says when the room was created.
    let createdMs: number;
    try {
      const [info] = await this.livekit.listRooms([room]);
      createdMs = info === undefined ? Number.POSITIVE_INFINITY : Number(info.creationTime) * 1000;
    } catch {
      // Cannot tell: the locks hold.
      return new Set(mine.keys());
    }
    const current = [...mine].filter(([, lock]) => lock.at >= createdMs - 1_000);
    if (current.length === 0) await this.unlock(room, userId);
    return new Set(current.map(([source]) => source));
  }

  private put(room: string, userId: string, source: LockableSource, lock: Lock): void {
    let users = this.locks.get(room);
    if (users === undefined) {
      users = new Map<string, Map<LockableSource, Lock>>();
      this.locks.set(room, users);
    }
    let sources = users.get(userId);
    if (sources === undefined) {
      sources = new Map<LockableSource, Lock>();
      users.set(userId, sources);
    }
    sources.set(source, lock);
  }
}

/**
 * Persistence of the rooms the bot is in (tables rooms, room_members, rtc_memberships). Every write
 * is an idempotent upsert or replace, so a transaction the homeserver re-sends after a crash can be
 * applied again safely.
 */
import { jsonParam, type Database, type Queryable } from '../schema/database.ts';
import type { Membership } from '../core/matrix-events.ts';
import type { RoomChange, RoomSnapshot } from '../core/room-model.ts';
import type { RtcMembership } from '../core/rtc-membership.ts';

/** Inserts MatrixRTC membership rows in one statement (rows of rooms we do not keep are dropped). */
async function insertRtc(q: Queryable, rows: readonly { roomId: string; m: RtcMembership }[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `INSERT INTO rtc_memberships (room_id, state_key, user_id, device_id, livekit_identity, livekit_service_url, expires_at)
     SELECT m->>'r', m->>'k', m->>'u', m->>'d', m->>'i', m->>'s', (m->>'x')::timestamptz
     FROM jsonb_array_elements($1::jsonb) AS m
     WHERE EXISTS (SELECT 1 FROM rooms WHERE room_id = m->>'r')
     ON CONFLICT (room_id, state_key, device_id) DO NOTHING`,
    [
      jsonParam(
        rows.map(({ roomId, m }) => ({
          r: roomId,
          k: m.stateKey,
          u: m.userId,
          d: m.deviceId,
          i: m.livekitIdentity,
          s: m.livekitServiceUrl ?? null,
          x: m.expiresAt?.toISOString() ?? null,
        })),
      ),
    ],
  );
}

/** A change to the room itself (version and creators, power levels), stored as it comes. */
async function applyRoomLevel(q: Queryable, roomId: string, c: RoomChange): Promise<void> {
  if (c.kind === 'create') {
    await q.query('UPDATE rooms SET room_version = $2, creators = $3::jsonb, create_sender = $4 WHERE room_id = $1', [
      roomId,
      c.roomVersion,
      jsonParam(c.creators),
      c.createSender,
    ]);
  } else if (c.kind === 'power_levels') {
    await q.query('UPDATE rooms SET power_levels = $2::jsonb WHERE room_id = $1', [roomId, jsonParam(c.content)]);
  }
}

/** One change to store: `delete` when the bot left the room. */
export type StoredChange = { roomId: string; change: RoomChange } | { roomId: string; delete: true };

export class RoomStore {
  constructor(private readonly db: Database) {}

  /**
   * Stores the changes of a whole appservice transaction in one database transaction and a few
   * statements (members and MatrixRTC memberships in bulk, the last change of each key winning),
   * instead of one round trip per event. Order is kept where it matters: room-level changes first,
   * then members and memberships, then rooms the bot left.
   */
  async applyChanges(changes: readonly StoredChange[]): Promise<void> {
    if (changes.length === 0) return;
    const members = new Map<string, { r: string; u: string; m: string; d: string | null }>();
    const rtc = new Map<string, { roomId: string; stateKey: string; memberships: RtcMembership[] }>();
    const roomLevel: { roomId: string; change: RoomChange }[] = [];
    const deleted: string[] = [];
    for (const c of changes) {
      if ('delete' in c) {
        deleted.push(c.roomId);
        continue;
      }
      const { roomId, change } = c;
      if (change.kind === 'member') {
        const k = `${roomId}\u0000${change.userId}`;
        members.delete(k);
        members.set(k, { r: roomId, u: change.userId, m: change.membership, d: change.displayname ?? null });
      } else if (change.kind === 'rtc') {
        const k = `${roomId}\u0000${change.stateKey}`;
        rtc.delete(k);
        rtc.set(k, { roomId, stateKey: change.stateKey, memberships: change.memberships });
      } else roomLevel.push({ roomId, change });
    }
    await this.db.transaction(async (tx) => {
      for (const { roomId, change } of roomLevel) await applyRoomLevel(tx, roomId, change);
      if (members.size > 0) {
        await tx.query(
          `INSERT INTO room_members (room_id, user_id, membership, displayname)
           SELECT m->>'r', m->>'u', m->>'m', m->>'d' FROM jsonb_array_elements($1::jsonb) AS m
           WHERE EXISTS (SELECT 1 FROM rooms WHERE room_id = m->>'r')
           ON CONFLICT (room_id, user_id) DO UPDATE SET membership = EXCLUDED.membership, displayname = EXCLUDED.displayname`,
          [jsonParam([...members.values()])],
        );
      }
      if (rtc.size > 0) {
        const keys = [...rtc.values()].map((e) => ({ r: e.roomId, k: e.stateKey }));
        await tx.query(
          `DELETE FROM rtc_memberships t USING jsonb_array_elements($1::jsonb) AS k
           WHERE t.room_id = k->>'r' AND t.state_key = k->>'k'`,
          [jsonParam(keys)],
        );
        await insertRtc(
          tx,
          [...rtc.values()].flatMap((e) => e.memberships.map((m) => ({ roomId: e.roomId, m }))),
        );
      }
      if (deleted.length > 0) await tx.query('DELETE FROM rooms WHERE room_id = ANY($1::text[])', [deleted]);
    });
  }

  async saveSnapshot(s: RoomSnapshot): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM rooms WHERE room_id = $1', [s.roomId]);
      await tx.query(
        'INSERT INTO rooms (room_id, room_version, creators, create_sender, power_levels) VALUES ($1, $2, $3::jsonb, $4, $5::jsonb)',
        [
          s.roomId,
          s.roomVersion,
          jsonParam(s.creators),
          s.createSender ?? null,
          s.powerLevels === undefined ? null : jsonParam(s.powerLevels),
        ],
      );
      if (s.members.length > 0) {
        // One statement for all members: large rooms are common.
        await tx.query(
          `INSERT INTO room_members (room_id, user_id, membership, displayname)
           SELECT $1, m->>'u', m->>'m', m->>'d' FROM jsonb_array_elements($2::jsonb) AS m`,
          [s.roomId, jsonParam(s.members.map(([u, m]) => ({ u, m: m.membership, d: m.displayname ?? null })))],
        );
      }
      await insertRtc(
        tx,
        s.rtc.map((m) => ({ roomId: s.roomId, m })),
      );
    });
  }

  /** Stores one change (outside a transaction's batch, e.g. a membership confirmed on demand). */
  async applyChange(roomId: string, c: RoomChange): Promise<void> {
    await this.applyChanges([{ roomId, change: c }]);
  }

  async deleteRoom(roomId: string): Promise<void> {
    await this.db.query('DELETE FROM rooms WHERE room_id = $1', [roomId]);
  }

  async loadRooms(): Promise<RoomSnapshot[]> {
    const rooms = await this.db.query<{
      room_id: string;
      room_version: string;
      creators: string[];
      create_sender: string | null;
      power_levels: Record<string, unknown> | null;
      synced_at: Date;
    }>('SELECT room_id, room_version, creators, create_sender, power_levels, synced_at FROM rooms');
    const members = await this.db.query<{
      room_id: string;
      user_id: string;
      membership: Membership;
      displayname: string | null;
    }>('SELECT room_id, user_id, membership, displayname FROM room_members');
    const rtc = await this.db.query<{
      room_id: string;
      state_key: string;
      user_id: string;
      device_id: string;
      livekit_identity: string;
      livekit_service_url: string | null;
      expires_at: Date | null;
    }>(
      'SELECT room_id, state_key, user_id, device_id, livekit_identity, livekit_service_url, expires_at FROM rtc_memberships',
    );
    const byRoom = new Map<string, RoomSnapshot>();
    for (const r of rooms) {
      byRoom.set(r.room_id, {
        roomId: r.room_id,
        roomVersion: r.room_version,
        creators: r.creators,
        createSender: r.create_sender ?? undefined,
        powerLevels: r.power_levels ?? undefined,
        members: [],
        rtc: [],
        syncedAt: r.synced_at,
      });
    }
    for (const m of members)
      byRoom
        .get(m.room_id)
        ?.members.push([m.user_id, { membership: m.membership, displayname: m.displayname ?? undefined }]);
    for (const m of rtc) {
      byRoom.get(m.room_id)?.rtc.push({
        stateKey: m.state_key,
        userId: m.user_id,
        deviceId: m.device_id,
        livekitIdentity: m.livekit_identity,
        livekitServiceUrl: m.livekit_service_url ?? undefined,
        expiresAt: m.expires_at ?? undefined,
      });
    }
    return [...byRoom.values()];
  }
}

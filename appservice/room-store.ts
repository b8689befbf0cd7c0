/**
 * Persistence of the rooms the bot is in (tables rooms, room_members, rtc_memberships). Every write
 * is an idempotent upsert or replace, so a transaction the homeserver re-sends after a crash can be
 * applied again safely.
 */
import { jsonParam, type Database, type Queryable } from '../schema/database.ts';
import type { Membership, PowerLevels } from './matrix-events.ts';
import type { RoomMember } from './room-state.ts';
import type { RtcMembership } from './rtc-membership.ts';

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

async function writeRtc(
  q: Queryable,
  roomId: string,
  stateKey: string,
  memberships: readonly RtcMembership[],
): Promise<void> {
  await q.query('DELETE FROM rtc_memberships WHERE room_id = $1 AND state_key = $2', [roomId, stateKey]);
  for (const m of memberships) {
    await q.query(
      `INSERT INTO rtc_memberships (room_id, state_key, user_id, device_id, livekit_identity, livekit_service_url, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (room_id, state_key, device_id) DO NOTHING`,
      [roomId, stateKey, m.userId, m.deviceId, m.livekitIdentity, m.livekitServiceUrl ?? null, m.expiresAt ?? null],
    );
  }
}

export class RoomStore {
  constructor(private readonly db: Database) {}

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
      const byKey = new Map<string, RtcMembership[]>();
      for (const m of s.rtc) byKey.set(m.stateKey, [...(byKey.get(m.stateKey) ?? []), m]);
      for (const [key, ms] of byKey) await writeRtc(tx, s.roomId, key, ms);
    });
  }

  async applyChange(roomId: string, c: RoomChange): Promise<void> {
    switch (c.kind) {
      case 'create':
        await this.db.query(
          'UPDATE rooms SET room_version = $2, creators = $3::jsonb, create_sender = $4 WHERE room_id = $1',
          [roomId, c.roomVersion, jsonParam(c.creators), c.createSender],
        );
        return;
      case 'power_levels':
        await this.db.query('UPDATE rooms SET power_levels = $2::jsonb WHERE room_id = $1', [
          roomId,
          jsonParam(c.content),
        ]);
        return;
      case 'member':
        await this.db.query(
          `INSERT INTO room_members (room_id, user_id, membership, displayname)
           SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM rooms WHERE room_id = $1)
           ON CONFLICT (room_id, user_id) DO UPDATE SET membership = EXCLUDED.membership, displayname = EXCLUDED.displayname`,
          [roomId, c.userId, c.membership, c.displayname ?? null],
        );
        return;
      case 'rtc':
        await this.db.transaction((tx) => writeRtc(tx, roomId, c.stateKey, c.memberships));
        return;
    }
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

/**
 * The `delegated_leaves` table, as DelayedLeaves (delayed-leaves.ts, its only user and the table's
 * owner) reads and writes it: one row per LiveKit participant with the delay id it handed over, the
 * LiveKit session that holds it once known, and its age by the database's clock.
 */
import type { DelegatedLeave } from '../core/delegated-leave.ts';
import type { Database } from '../schema/database.ts';

export interface LeaveRow {
  livekit_room: string;
  identity: string;
  room_id: string;
  user_id: string;
  delay_id: string;
  delay_timeout_ms: number;
  participant_sid: string | null;
  /** Since registration (database clock). */
  age_ms: number;
}

const COLUMNS = `livekit_room, identity, room_id, user_id, delay_id, delay_timeout_ms, participant_sid,
  (extract(epoch FROM now() - created_at) * 1000)::float8 AS age_ms`;

export class DelegatedLeavesTable {
  constructor(private readonly db: Pick<Database, 'query'>) {}

  /**
   * Records a delay id for its participant, replacing the previous one and forgetting which session
   * held it (unless it is the same delay id); then drops the user's oldest rows beyond `maxPerUser`
   * and returns them.
   */
  async register(
    leave: DelegatedLeave,
    maxPerUser: number,
  ): Promise<{ livekit_room: string; identity: string; room_id: string }[]> {
    await this.db.query(
      `INSERT INTO delegated_leaves (livekit_room, identity, room_id, user_id, device_id, delay_id, delay_timeout_ms, cs_api_url)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (livekit_room, identity) DO UPDATE SET room_id = EXCLUDED.room_id, user_id = EXCLUDED.user_id,
         device_id = EXCLUDED.device_id, delay_id = EXCLUDED.delay_id, delay_timeout_ms = EXCLUDED.delay_timeout_ms,
         cs_api_url = EXCLUDED.cs_api_url, created_at = now(), registration = nextval('delegated_leaves_registration'),
         participant_sid = CASE WHEN delegated_leaves.delay_id = EXCLUDED.delay_id THEN delegated_leaves.participant_sid END`,
      [
        leave.livekitRoom,
        leave.identity,
        leave.roomId,
        leave.userId,
        leave.deviceId,
        leave.delayId,
        leave.delayTimeoutMs,
        leave.csApiUrl ?? null,
      ],
    );
    return this.db.query<{ livekit_room: string; identity: string; room_id: string }>(
      `DELETE FROM delegated_leaves d USING (
         SELECT livekit_room, identity FROM delegated_leaves
         WHERE user_id = $1 AND NOT (livekit_room = $2 AND identity = $3)
         ORDER BY registration DESC OFFSET $4
       ) old
       WHERE d.livekit_room = old.livekit_room AND d.identity = old.identity
       RETURNING d.livekit_room, d.identity, d.room_id`,
      [leave.userId, leave.livekitRoom, leave.identity, Math.max(0, maxPerUser - 1)],
    );
  }

  async all(): Promise<LeaveRow[]> {
    return this.db.query<LeaveRow>(`SELECT ${COLUMNS} FROM delegated_leaves`);
  }

  async get(livekitRoom: string, identity: string): Promise<LeaveRow | undefined> {
    const rows = await this.db.query<LeaveRow>(
      `SELECT ${COLUMNS} FROM delegated_leaves WHERE livekit_room = $1 AND identity = $2`,
      [livekitRoom, identity],
    );
    return rows[0];
  }

  /** Records the LiveKit session now holding the participant's delay id; undefined when it has none. */
  async setHolder(livekitRoom: string, identity: string, sid: string): Promise<LeaveRow | undefined> {
    const rows = await this.db.query<LeaveRow>(
      `UPDATE delegated_leaves SET participant_sid = $3 WHERE livekit_room = $1 AND identity = $2
       RETURNING ${COLUMNS}`,
      [livekitRoom, identity, sid],
    );
    return rows[0];
  }

  /** Deletes the row if it still holds the same delay id; whether it did. */
  async delete(row: LeaveRow): Promise<boolean> {
    const deleted = await this.db.query(
      'DELETE FROM delegated_leaves WHERE livekit_room = $1 AND identity = $2 AND delay_id = $3 RETURNING delay_id',
      [row.livekit_room, row.identity, row.delay_id],
    );
    return deleted.length > 0;
  }
}

/**
 * Calls and their participants in the database. At most one running call per room (a unique
 * index); starting is idempotent per command event, ending returns the call only the first time.
 */
import type { Database } from '../schema/database.ts';

export interface CallRow {
  callId: number;
  roomId: string;
  livekitRoom: string;
  startedAt: Date;
  startedBy: string | undefined;
  /** The `!call` that started it; undefined for a call started by a client joining LiveKit directly. */
  startEventId: string | undefined;
}

interface Row {
  call_id: string;
  room_id: string;
  livekit_room: string;
  started_at: Date;
  started_by: string | null;
  start_event_id: string | null;
}

const toCall = (r: Row): CallRow => ({
  callId: Number(r.call_id),
  roomId: r.room_id,
  livekitRoom: r.livekit_room,
  startedAt: r.started_at,
  startedBy: r.started_by ?? undefined,
  startEventId: r.start_event_id ?? undefined,
});

export class CallStore {
  constructor(private readonly db: Pick<Database, 'query'>) {}

  async running(roomId: string): Promise<CallRow | undefined> {
    const rows = await this.db.query<Row>(
      'SELECT call_id, room_id, livekit_room, started_at, started_by, start_event_id FROM calls WHERE room_id = $1 AND ended_at IS NULL',
      [roomId],
    );
    return rows[0] === undefined ? undefined : toCall(rows[0]);
  }

  /** Every running call (to check them against LiveKit). */
  async runningCalls(): Promise<CallRow[]> {
    const rows = await this.db.query<Row>(
      'SELECT call_id, room_id, livekit_room, started_at, started_by, start_event_id FROM calls WHERE ended_at IS NULL',
    );
    return rows.map(toCall);
  }

  /**
   * Starts a call unless one runs. `created`: this call inserted it; `resumed`: the same command
   * already inserted it (a re-sent transaction), so its remaining steps should be redone.
   */
  async start(
    roomId: string,
    livekitRoom: string,
    startedBy: string | undefined,
    startEventId: string | undefined,
  ): Promise<{ call: CallRow; created: boolean; resumed: boolean }> {
    const inserted = await this.db.query<Row>(
      `INSERT INTO calls (room_id, livekit_room, started_by, start_event_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING RETURNING call_id, room_id, livekit_room, started_at, started_by, start_event_id`,
      [roomId, livekitRoom, startedBy ?? null, startEventId ?? null],
    );
    if (inserted[0] !== undefined) return { call: toCall(inserted[0]), created: true, resumed: false };
    const running = await this.running(roomId);
    if (startEventId !== undefined) {
      const same = await this.db.query<Row & { ended_at: Date | null }>(
        'SELECT call_id, room_id, livekit_room, started_at, started_by, start_event_id, ended_at FROM calls WHERE start_event_id = $1',
        [startEventId],
      );
      if (same[0] !== undefined) return { call: toCall(same[0]), created: false, resumed: same[0].ended_at === null };
    }
    if (running !== undefined) return { call: running, created: false, resumed: false };
    throw new Error(`could not start or find a call in ${roomId}`);
  }

  /** Ends the running call of a room; undefined if none was running (already ended). */
  async end(roomId: string, reason: string): Promise<(CallRow & { endedAt: Date }) | undefined> {
    const rows = await this.db.query<Row & { ended_at: Date }>(
      `UPDATE calls SET ended_at = now(), end_reason = $2 WHERE room_id = $1 AND ended_at IS NULL
       RETURNING call_id, room_id, livekit_room, started_at, started_by, start_event_id, ended_at`,
      [roomId, reason],
    );
    return rows[0] === undefined ? undefined : { ...toCall(rows[0]), endedAt: rows[0].ended_at };
  }

  /** The most recent ended call of a room whose summary was not posted (a crash came between). */
  async endedWithoutSummary(roomId: string): Promise<(CallRow & { endedAt: Date }) | undefined> {
    const rows = await this.db.query<Row & { ended_at: Date }>(
      `SELECT call_id, room_id, livekit_room, started_at, started_by, start_event_id, ended_at FROM calls
       WHERE room_id = $1 AND ended_at IS NOT NULL AND NOT summary_posted ORDER BY ended_at DESC LIMIT 1`,
      [roomId],
    );
    return rows[0] === undefined ? undefined : { ...toCall(rows[0]), endedAt: rows[0].ended_at };
  }

  /** Whether a call of the room ended within the last `seconds` (the database's clock). */
  async endedWithin(roomId: string, seconds: number): Promise<boolean> {
    const rows = await this.db.query<{ n: number }>(
      `SELECT 1 AS n FROM calls WHERE room_id = $1 AND ended_at > now() - $2::integer * interval '1 second' LIMIT 1`,
      [roomId, seconds],
    );
    return rows.length > 0;
  }

  async summaryPosted(callId: number): Promise<void> {
    await this.db.query('UPDATE calls SET summary_posted = true WHERE call_id = $1', [callId]);
  }

  async participantJoined(
    callId: number,
    identity: string,
    userId: string | undefined,
    deviceId: string | undefined,
    at: Date,
  ): Promise<void> {
    // Idempotent: a webhook handled again (after a crash) or a recount adds no second open row.
    await this.db.query(
      `INSERT INTO call_participants (call_id, identity, user_id, device_id, joined_at)
       SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (
         SELECT 1 FROM call_participants WHERE call_id = $1 AND identity = $2 AND left_at IS NULL)
       ON CONFLICT DO NOTHING`,
      [callId, identity, userId ?? null, deviceId ?? null, at],
    );
  }

  async participantLeft(callId: number, identity: string, reason: string, at: Date): Promise<void> {
    await this.db.query(
      `UPDATE call_participants SET left_at = $3, left_reason = $4
       WHERE call_id = $1 AND identity = $2 AND left_at IS NULL`,
      [callId, identity, at, reason],
    );
  }

  /** Users who took part in a call, in order of first arrival. */
  async participantUsers(callId: number): Promise<string[]> {
    const rows = await this.db.query<{ user_id: string }>(
      'SELECT user_id FROM call_participants WHERE call_id = $1 AND user_id IS NOT NULL GROUP BY user_id ORDER BY min(joined_at)',
      [callId],
    );
    return rows.map((r) => r.user_id);
  }

  /** Identities connected to a call as far as we know (joined, not left). */
  async openParticipants(callId: number): Promise<string[]> {
    const rows = await this.db.query<{ identity: string }>(
      'SELECT identity FROM call_participants WHERE call_id = $1 AND left_at IS NULL',
      [callId],
    );
    return rows.map((r) => r.identity);
  }

  /** Whether a LiveKit webhook id was already handled (LiveKit retries deliveries). */
  async delivered(eventId: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM livekit_webhook_events WHERE event_id = $1', [eventId]);
    return rows.length > 0;
  }

  /**
   * Records a webhook id once its handling is done: a crash before that leaves it unrecorded, so
   * LiveKit's retry is handled (every step of handling is idempotent).
   */
  async markDelivered(eventId: string): Promise<void> {
    await this.db.query('INSERT INTO livekit_webhook_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING', [eventId]);
  }

  /** Calls running and participants connected to them (for the metrics gauges). */
  async counts(): Promise<{ calls: number; participants: number }> {
    const rows = await this.db.query<{ calls: string; participants: string }>(
      `SELECT (SELECT count(*) FROM calls WHERE ended_at IS NULL) AS calls,
              (SELECT count(*) FROM call_participants p JOIN calls c USING (call_id)
               WHERE c.ended_at IS NULL AND p.left_at IS NULL) AS participants`,
    );
    return { calls: Number(rows[0]?.calls ?? 0), participants: Number(rows[0]?.participants ?? 0) };
  }
}

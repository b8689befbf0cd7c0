/**
 * Delegated delayed leaves: a client that handed us the id of its MSC4140 delayed "leave the call"
 * event (with its token request) relies on us to keep that event from firing while it is in the
 * call, and to fire it as soon as it is gone — even if the client crashed. While the participant is
 * in LiveKit we restart the delay at half its timeout; when LiveKit says it left, we send the event
 * at once. Rows live in `delegated_leaves`, so a restart of the service resumes the work.
 */
import type { ParticipantInfo } from 'livekit-server-sdk';

import type { Database } from '../schema/database.ts';
import type { AuditLog } from '../server/audit.ts';
import type { ClientApi } from '../server/client-api.ts';
import type { Logger } from '../server/log.ts';

interface Row {
  livekit_room: string;
  identity: string;
  room_id: string;
  user_id: string;
  delay_id: string;
  delay_timeout_ms: number;
}

export interface DelayedLeavesDeps {
  db: Pick<Database, 'query'>;
  clientApi: Pick<ClientApi, 'post'>;
  audit: Pick<AuditLog, 'record'>;
  log: Logger;
}

const path = (delayId: string): string =>
  `/_matrix/client/unstable/org.matrix.msc4140/delayed_events/${encodeURIComponent(delayId)}`;
const keyOf = (room: string, identity: string): string => `${room}\u0000${identity}`;

export class DelayedLeaves {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly deps: DelayedLeavesDeps) {}

  private async row(livekitRoom: string, identity: string): Promise<Row | undefined> {
    const rows = await this.deps.db.query<Row>(
      'SELECT livekit_room, identity, room_id, user_id, delay_id, delay_timeout_ms FROM delegated_leaves WHERE livekit_room = $1 AND identity = $2',
      [livekitRoom, identity],
    );
    return rows[0];
  }

  private async act(row: Row, action: 'restart' | 'send'): Promise<'ok' | 'gone'> {
    const res = await this.deps.clientApi.post(row.user_id, path(row.delay_id), { action });
    if (res.status === 200) return 'ok';
    if (res.status === 404 || res.status === 400) return 'gone'; // already sent, cancelled or expired
    throw new Error(`delayed event ${action} answered ${res.status}`);
  }

  private async forget(row: Row): Promise<void> {
    this.stopTimer(row.livekit_room, row.identity);
    await this.deps.db.query(
      'DELETE FROM delegated_leaves WHERE livekit_room = $1 AND identity = $2 AND delay_id = $3',
      [row.livekit_room, row.identity, row.delay_id],
    );
  }

  private stopTimer(room: string, identity: string): void {
    const key = keyOf(room, identity);
    const t = this.timers.get(key);
    if (t !== undefined) clearInterval(t);
    this.timers.delete(key);
  }

  /** The participant is in LiveKit: keep its delayed leave from firing. */
  async joined(livekitRoom: string, identity: string): Promise<void> {
    const row = await this.row(livekitRoom, identity);
    if (row === undefined) return;
    this.stopTimer(livekitRoom, identity);
    const keepAlive = async (): Promise<void> => {
      const current = await this.row(livekitRoom, identity);
      if (current?.delay_id !== row.delay_id) {
        this.stopTimer(livekitRoom, identity);
        return;
      }
      if ((await this.act(row, 'restart')) === 'gone') await this.forget(row);
    };
    await keepAlive();
    // Another call may have started a timer for this participant meanwhile: keep only one.
    this.stopTimer(livekitRoom, identity);
    const timer = setInterval(
      () => {
        keepAlive().catch((err: unknown) => {
          this.deps.log.warn('delayed_leave_restart_failed', {
            room_id: row.room_id,
            user_id: row.user_id,
            error: (err as Error).message,
          });
        });
      },
      Math.max(1_000, Math.floor(row.delay_timeout_ms / 2)),
    );
    timer.unref();
    this.timers.set(keyOf(livekitRoom, identity), timer);
  }

  /** The participant left LiveKit: send its leave now. */
  async left(livekitRoom: string, identity: string): Promise<void> {
    this.stopTimer(livekitRoom, identity);
    const row = await this.row(livekitRoom, identity);
    if (row === undefined) return;
    await this.act(row, 'send');
    await this.forget(row);
    this.deps.audit.record({
      action: 'delayed_leave_sent',
      roomId: row.room_id,
      userId: row.user_id,
      detail: { identity },
    });
    this.deps.log.info('delayed_leave_sent', { room_id: row.room_id, user_id: row.user_id, identity });
  }

  /** At start: keep alive the leaves of participants still connected, send the others. */
  async resume(listParticipants: (room: string) => Promise<ParticipantInfo[]>): Promise<void> {
    // Rows younger than a minute may be clients still connecting: their webhooks will come.
    const rows = await this.deps.db.query<Row>(
      `SELECT livekit_room, identity, room_id, user_id, delay_id, delay_timeout_ms FROM delegated_leaves
       WHERE created_at < now() - interval '1 minute'`,
    );
    const byRoom = new Map<string, Row[]>();
    for (const r of rows) byRoom.set(r.livekit_room, [...(byRoom.get(r.livekit_room) ?? []), r]);
    for (const [room, list] of byRoom) {
      const present = new Set((await listParticipants(room).catch(() => [])).map((p) => p.identity));
      for (const r of list) {
        try {
          if (present.has(r.identity)) await this.joined(room, r.identity);
          else await this.left(room, r.identity);
        } catch (err) {
          this.deps.log.warn('delayed_leave_resume_failed', {
            room_id: r.room_id,
            user_id: r.user_id,
            error: (err as Error).message,
          });
        }
      }
    }
  }

  stop(): void {
    for (const t of this.timers.values()) clearInterval(t);
    this.timers.clear();
  }
}

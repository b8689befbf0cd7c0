/**
 * Delegated delayed leaves: a client that handed us the id of its MSC4140 delayed "leave the call"
 * event (with its token request) relies on us to keep that event from firing while it is in the
 * call, and to fire it as soon as it is gone — even if the client crashed. While the participant is
 * in LiveKit we restart the delay at half its timeout; when it is confirmed gone, we send the event
 * at once. Rows live in `delegated_leaves` (this module owns the table), so a restart of the service
 * resumes the work.
 *
 * A leave acts only for its own session: a device that reconnects keeps its LiveKit identity, so a
 * late "participant left" of its old session must not send the new session's leave. We record the
 * LiveKit session (participant sid) that joined with the delay id and ask LiveKit before sending.
 * A failure to ask is never "gone": we keep the row, stop nothing we are unsure of, and ask again
 * later; meanwhile the delay's own timeout stays the client's safety net.
 */
import type { ParticipantInfo, RoomServiceClient } from 'livekit-server-sdk';

import type { Database } from '../schema/database.ts';
import type { AuditSink } from '../core/audit-trail.ts';
import type { ClientApi } from '../federation/client-api.ts';
import {
  isConnected,
  listParticipantsOrGone,
  LivekitUnavailableError,
  participantPresent,
  type ParticipantPresence,
} from '../livekit/errors.ts';
import type { DelegatedLeave, DelegatedLeaveRegistry } from '../core/delegated-leave.ts';
import type { Logger } from '../core/log.ts';
import {
  decideLeave,
  keepAliveIntervalMs,
  retryDelay,
  type Attempts,
  type LeaveOutcome,
} from './delayed-leave-decisions.ts';
import { LeaveTimers } from './delayed-leave-timers.ts';
import { DelegatedLeavesTable, type LeaveRow as Row } from './delegated-leaves-table.ts';

export interface DelayedLeavesDeps {
  db: Pick<Database, 'query'>;
  clientApi: Pick<ClientApi, 'post'>;
  livekit: Pick<RoomServiceClient, 'getParticipant' | 'listParticipants'>;
  audit: AuditSink;
  log: Logger;
}

export interface DelayedLeavesOptions {
  /** Delay ids kept per user; registering more drops that user's oldest. */
  maxPerUser?: number;
  /** How long a freshly registered delay id waits for its session to connect before "gone" counts. */
  connectGraceMs?: number;
  /** First wait before asking LiveKit (or the homeserver) again; doubles up to retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Failed attempts to send one leave before it is left to its own timeout. */
  maxSendAttempts?: number;
}

const path = (delayId: string): string =>
  `/_matrix/client/unstable/org.matrix.msc4140/delayed_events/${encodeURIComponent(delayId)}`;

export class DelayedLeaves implements DelegatedLeaveRegistry {
  private readonly table: DelegatedLeavesTable;
  private readonly timers = new LeaveTimers();
  private resumeTimer: NodeJS.Timeout | undefined;
  private readonly resumePending = new Set<string>();
  private stopped = false;
  private readonly maxPerUser: number;
  private readonly connectGraceMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly maxSendAttempts: number;

  constructor(
    private readonly deps: DelayedLeavesDeps,
    opts: DelayedLeavesOptions = {},
  ) {
    this.table = new DelegatedLeavesTable(deps.db);
    this.maxPerUser = opts.maxPerUser ?? 16;
    this.connectGraceMs = opts.connectGraceMs ?? 60_000;
    this.retryBaseMs = opts.retryBaseMs ?? 2_000;
    this.retryMaxMs = opts.retryMaxMs ?? 60_000;
    this.maxSendAttempts = opts.maxSendAttempts ?? 10;
  }

  /**
   * Takes over a delay id handed over with a token request. It replaces the participant's previous
   * one and forgets which session held it (a new session is about to connect); beyond `maxPerUser`
   * rows the user's oldest are dropped (their delays then fire on their own timeout).
   */
  async register(leave: DelegatedLeave): Promise<void> {
    const dropped = await this.table.register(leave, this.maxPerUser);
    for (const d of dropped) {
      this.timers.stopKeepAlive(d.livekit_room, d.identity);
      this.timers.cancelCheck(d.livekit_room, d.identity);
      this.deps.log.info('delayed_leave_dropped', {
        room_id: d.room_id,
        user_id: leave.userId,
        identity: d.identity,
        reason: 'per_user_limit',
      });
    }
  }

  /**
   * LiveKit says the participant joined (as session `sid`): that session now holds the delay id,
   * and its delayed leave is kept from firing.
   */
  joined(livekitRoom: string, identity: string, sid?: string): Promise<LeaveOutcome> {
    return this.timers.serial(livekitRoom, identity, () => this.keep(livekitRoom, identity, sid));
  }

  /**
   * LiveKit says session `sid` of the participant left. The leave is sent only once LiveKit confirms
   * no session of this identity is connected; a newer session keeps it; when LiveKit cannot tell,
   * it is asked again later.
   */
  left(livekitRoom: string, identity: string, sid?: string): Promise<LeaveOutcome> {
    return this.timers
      .serial(livekitRoom, identity, () => this.settle(livekitRoom, identity, sid, { unknown: 0, send: 0 }))
      .catch((err: unknown) => {
        // Database or homeserver trouble: try again later rather than give up on the leave.
        this.warn('delayed_leave_check_failed', livekitRoom, identity, err);
        this.later(livekitRoom, identity, sid, { unknown: 1, send: 0 });
        return 'deferred' as const;
      });
  }

  /**
   * At start: keeps alive the leaves of participants still connected and sends the others. Rooms
   * LiveKit cannot tell us about keep their rows and are asked again with backoff until it answers.
   */
  async resume(): Promise<void> {
    await this.resumeRooms(undefined, 0);
  }

  stop(): void {
    this.stopped = true;
    this.timers.clear();
    if (this.resumeTimer !== undefined) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    this.resumePending.clear();
  }

  private async resumeRooms(only: ReadonlySet<string> | undefined, attempt: number): Promise<void> {
    if (this.stopped) return;
    const rows = await this.table.all();
    const byRoom = new Map<string, string[]>();
    for (const r of rows) {
      if (only !== undefined && !only.has(r.livekit_room)) continue;
      byRoom.set(r.livekit_room, [...(byRoom.get(r.livekit_room) ?? []), r.identity]);
    }
    const unanswered = new Set<string>();
    for (const [room, identities] of byRoom) {
      let participants: ParticipantInfo[];
      try {
        participants = await listParticipantsOrGone(this.deps.livekit, room);
      } catch (err) {
        if (!(err instanceof LivekitUnavailableError)) throw err;
        unanswered.add(room);
        this.deps.log.warn('delayed_leaves_resume_deferred', { livekit_room: room, error: err.message, attempt });
        continue;
      }
      for (const identity of identities) {
        const p = participants.find((x) => x.identity === identity && isConnected(x));
        const presence: ParticipantPresence = p === undefined ? { present: false } : { present: true, sid: p.sid };
        try {
          await this.timers.serial(room, identity, async () => {
            const row = await this.table.get(room, identity);
            return row === undefined ? 'none' : this.apply(row, undefined, presence, { unknown: 0, send: 0 });
          });
        } catch (err) {
          this.warn('delayed_leave_resume_failed', room, identity, err);
        }
      }
    }
    if (unanswered.size > 0) this.resumeLater(unanswered, attempt);
  }

  /** Asks again about rooms LiveKit (or the database) could not tell us about, until it answers. */
  private resumeLater(rooms: ReadonlySet<string>, attempt: number): void {
    if (this.stopped) return;
    for (const r of rooms) this.resumePending.add(r);
    if (this.resumeTimer !== undefined) clearTimeout(this.resumeTimer);
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = undefined;
      const pending = new Set(this.resumePending);
      this.resumePending.clear();
      this.resumeRooms(pending, attempt + 1).catch((err: unknown) => {
        this.deps.log.warn('delayed_leaves_resume_failed', { error: (err as Error).message, attempt: attempt + 1 });
        this.resumeLater(pending, attempt + 1);
      });
    }, this.backoff(attempt));
    this.resumeTimer.unref();
  }

  /** Decides a leave with a fresh answer from LiveKit. */
  private async settle(
    livekitRoom: string,
    identity: string,
    leavingSid: string | undefined,
    attempts: Attempts,
  ): Promise<LeaveOutcome> {
    const row = await this.table.get(livekitRoom, identity);
    if (row === undefined) return 'none';
    let presence: ParticipantPresence | 'unknown';
    try {
      presence = await participantPresent(this.deps.livekit, livekitRoom, identity);
    } catch (err) {
      if (!(err instanceof LivekitUnavailableError)) throw err;
      this.deps.log.warn('delayed_leave_deferred', {
        room_id: row.room_id,
        user_id: row.user_id,
        identity,
        error: err.message,
        attempt: attempts.unknown,
      });
      presence = 'unknown';
    }
    return this.apply(row, leavingSid, presence, attempts);
  }

  private async apply(
    row: Row,
    leavingSid: string | undefined,
    presence: ParticipantPresence | 'unknown',
    attempts: Attempts,
  ): Promise<LeaveOutcome> {
    const room = row.livekit_room;
    const decision = decideLeave(
      { participantSid: row.participant_sid, ageMs: row.age_ms },
      leavingSid,
      presence,
      this.connectGraceMs,
    );
    switch (decision.do) {
      case 'keep':
        return this.keep(room, row.identity, decision.sid);
      case 'wait':
        this.later(room, row.identity, leavingSid, { unknown: 0, send: attempts.send }, decision.ms);
        return 'deferred';
      case 'retry':
        if (decision.stopKeepAlive) this.timers.stopKeepAlive(room, row.identity);
        this.later(room, row.identity, leavingSid, { unknown: attempts.unknown + 1, send: attempts.send });
        return 'deferred';
      case 'send':
        return this.send(row, leavingSid, attempts);
    }
  }

  private async send(row: Row, leavingSid: string | undefined, attempts: Attempts): Promise<LeaveOutcome> {
    this.timers.stopKeepAlive(row.livekit_room, row.identity);
    let answer: 'ok' | 'gone';
    try {
      answer = await this.act(row, 'send');
    } catch (err) {
      const failed = attempts.send + 1;
      if (failed >= this.maxSendAttempts) {
        // We stopped restarting it: the delay fires on its own timeout.
        this.warn('delayed_leave_abandoned', row.livekit_room, row.identity, err);
        await this.forget(row);
        return 'none';
      }
      this.warn('delayed_leave_send_failed', row.livekit_room, row.identity, err);
      this.later(row.livekit_room, row.identity, leavingSid, { unknown: 0, send: failed });
      return 'deferred';
    }
    await this.forget(row);
    this.deps.audit.record({
      action: 'delayed_leave_sent',
      roomId: row.room_id,
      userId: row.user_id,
      detail: { identity: row.identity, answer },
    });
    this.deps.log.info('delayed_leave_sent', {
      room_id: row.room_id,
      user_id: row.user_id,
      identity: row.identity,
      answer,
    });
    return 'sent';
  }

  /** Records the session holding the delay (when known) and keeps the delay from firing. */
  private async keep(livekitRoom: string, identity: string, sid: string | undefined): Promise<LeaveOutcome> {
    const row =
      sid === undefined
        ? await this.table.get(livekitRoom, identity)
        : await this.table.setHolder(livekitRoom, identity, sid);
    if (row === undefined) return 'none';
    this.timers.stopKeepAlive(livekitRoom, identity);
    const keepAlive = async (): Promise<boolean> => {
      const current = await this.table.get(livekitRoom, identity);
      if (current?.delay_id !== row.delay_id) return false;
      if ((await this.act(row, 'restart')) === 'ok') return true;
      await this.forget(row);
      return false;
    };
    let alive = true;
    try {
      alive = await keepAlive();
    } catch (err) {
      // The homeserver may be back at the next tick.
      this.warn('delayed_leave_restart_failed', livekitRoom, identity, err);
    }
    if (!alive || this.stopped) return alive ? 'kept' : 'none';
    // Another call may have started a keep-alive for this participant meanwhile: this one replaces
    // it. Each tick first asks LiveKit whether the participant is still there: a "participant left"
    // webhook that never reached us (we were down, the database was) must not mean a keep-alive
    // forever.
    this.timers.keepAlive(
      livekitRoom,
      identity,
      keepAliveIntervalMs(row.delay_timeout_ms),
      async (current) => {
        const presence = await participantPresent(this.deps.livekit, livekitRoom, identity).catch(() => undefined);
        if (presence?.present === false) {
          this.timers.stopKeepAlive(livekitRoom, identity);
          await this.left(livekitRoom, identity, undefined);
          return;
        }
        const stillAlive = await keepAlive();
        if (!stillAlive && current()) this.timers.stopKeepAlive(livekitRoom, identity);
      },
      (err) => {
        this.warn('delayed_leave_restart_failed', livekitRoom, identity, err);
      },
    );
    return 'kept';
  }

  private async act(row: Row, action: 'restart' | 'send'): Promise<'ok' | 'gone'> {
    const res = await this.deps.clientApi.post(row.user_id, path(row.delay_id), { action });
    if (res.status === 200) return 'ok';
    if (res.status === 404 || res.status === 400) return 'gone'; // already sent, cancelled or expired
    throw new Error(`delayed event ${action} answered ${res.status}`);
  }

  private async forget(row: Row): Promise<void> {
    // A delay id registered meanwhile for this participant has its own timer and checks.
    if (!(await this.table.delete(row))) return;
    this.timers.stopKeepAlive(row.livekit_room, row.identity);
    this.timers.cancelCheck(row.livekit_room, row.identity);
  }

  /** Asks again about this participant's leave later (a newer request replaces a pending one). */
  private later(
    livekitRoom: string,
    identity: string,
    leavingSid: string | undefined,
    attempts: Attempts,
    ms?: number,
  ): void {
    if (this.stopped) return;
    this.timers.checkLater(livekitRoom, identity, ms ?? this.backoff(attempts.unknown + attempts.send - 1), () => {
      this.timers
        .serial(livekitRoom, identity, () => this.settle(livekitRoom, identity, leavingSid, attempts))
        .catch((err: unknown) => {
          this.warn('delayed_leave_check_failed', livekitRoom, identity, err);
          this.later(livekitRoom, identity, leavingSid, { ...attempts, unknown: attempts.unknown + 1 });
        });
    });
  }

  private backoff(attempt: number): number {
    return retryDelay(attempt, this.retryBaseMs, this.retryMaxMs);
  }

  private warn(event: string, livekitRoom: string, identity: string, err: unknown): void {
    this.deps.log.warn(event, {
      livekit_room: livekitRoom,
      identity,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

/**
 * `!call`, `!call end`, `!call help` (parsed in notices.ts): who may start or end a room's call, and
 * what the bot answers. Our SFU serves calls started by users of the full-access servers; partners
 * join them, and asking to start one they are told who can, or where the running call is. Ending a
 * call for everyone takes the moderator level. The decisions are pure; CallCommands does the I/O.
 */
import type { AuditSink } from '../core/audit-trail.ts';
import { messageBody, type MatrixEvent } from '../core/matrix-events.ts';
import { serverOfUserId } from '../core/matrix-ids.ts';
import { powerOf, type RoomView } from '../core/room-model.ts';
import type { CallStore } from './call-store.ts';
import type { Calls } from './calls.ts';
import { notices, parseCommand, type Command } from './notices.ts';
import type { RoomStates } from './room-cache.ts';

/** A call that ended this recently is the one a `!call end` meant (re-sent, or raced). */
const JUST_ENDED_SECONDS = 60;

/** Who may start and end calls. */
export interface CallPolicy {
  /** Homeservers whose users may start a call (normalised comparison through `serverListed`). */
  fullAccessServers: readonly string[];
  serverListed: (server: string, list: readonly string[]) => boolean;
  /** Power level needed to end a call for everyone. */
  moderatorPowerLevel: number;
}

export type CommandDecision =
  /** Answer with this notice and do nothing else. */
  | { do: 'reply'; body: string }
  /** A user of a full-access server: start the call (a running one is pointed to). */
  | { do: 'start' }
  /** Anyone else asking to start: told where the running call is, or who can start one. */
  | { do: 'refuse_start' }
  /** A moderator: close the running call for everyone. */
  | { do: 'end' };

/** Whether this user's homeserver may start calls on our SFU. */
export function mayStartCall(userId: string, policy: Pick<CallPolicy, 'fullAccessServers' | 'serverListed'>): boolean {
  const server = serverOfUserId(userId);
  return server !== undefined && policy.serverListed(server, policy.fullAccessServers);
}

/**
 * What to do about a command from `sender`, given the room as we see it (undefined: a room we do not
 * know, where nobody counts as a moderator).
 */
export function decideCommand(
  command: Command,
  sender: string,
  room: RoomView | undefined,
  policy: CallPolicy,
): CommandDecision {
  switch (command.kind) {
    case 'help':
      return { do: 'reply', body: notices.help() };
    case 'unknown':
      return { do: 'reply', body: notices.unknown(command.word) };
    case 'start':
      return mayStartCall(sender, policy) ? { do: 'start' } : { do: 'refuse_start' };
    case 'end':
      return room !== undefined && powerOf(room, sender) >= policy.moderatorPowerLevel
        ? { do: 'end' }
        : { do: 'reply', body: notices.notAllowedToEnd(policy.moderatorPowerLevel) };
  }
}

/** What a user who may not start a call is told: where the running call is, else who can start one. */
export function startRefusal(
  running: { startedAt: Date } | undefined,
  policy: Pick<CallPolicy, 'fullAccessServers'>,
): string {
  return running === undefined
    ? notices.notAllowedToStart(policy.fullAccessServers)
    : notices.alreadyRunning(running.startedAt);
}

export interface CallCommandsDeps {
  botUserId: string;
  rooms: Pick<RoomStates, 'peek'>;
  store: Pick<CallStore, 'running' | 'endedWithoutSummary' | 'endedWithin'>;
  calls: Pick<Calls, 'notice' | 'start' | 'finish' | 'closeLivekitRoom'>;
  policy: CallPolicy;
  audit: AuditSink;
}

export class CallCommands {
  constructor(private readonly deps: CallCommandsDeps) {}

  /** Handles `!call …` messages; anything else is ignored. */
  async onMessage(ev: MatrixEvent): Promise<void> {
    const { deps } = this;
    if (ev.room_id === undefined || ev.sender === deps.botUserId || ev.event_id === undefined) return;
    const body = messageBody(ev.content);
    if (body === undefined) return;
    const command = parseCommand(body);
    if (command === undefined) return;
    const roomId = ev.room_id;
    const reply = `causerie-reply-${ev.event_id}`;
    const decision = decideCommand(command, ev.sender, deps.rooms.peek(roomId), deps.policy);
    switch (decision.do) {
      case 'reply':
        await deps.calls.notice(roomId, reply, decision.body);
        return;
      case 'refuse_start':
        await deps.calls.notice(roomId, reply, startRefusal(await deps.store.running(roomId), deps.policy));
        return;
      case 'start':
        await deps.calls.start(roomId, ev.sender, ev.event_id);
        return;
      case 'end':
        await this.end(roomId, ev.sender, reply);
        return;
    }
  }

  private async end(roomId: string, by: string, reply: string): Promise<void> {
    if (await this.endCall(roomId, by)) return;
    // Ended a moment ago: this command's first run (re-sent after a crash, its summary posted
    // meanwhile on LiveKit's report of the room it closed), or another moderator quicker. The
    // summary just posted says it; "no call is running" would contradict it.
    if (await this.deps.store.endedWithin(roomId, JUST_ENDED_SECONDS)) return;
    await this.deps.calls.notice(roomId, reply, notices.noCall());
  }

  /**
   * A moderator ends the room's call for everyone (`!call end`, or from the widget): its LiveKit
   * room is closed, everyone told who ended it, the summary posted. False when no call runs.
   */
  async endCall(roomId: string, by: string): Promise<boolean> {
    const { deps } = this;
    const running = await deps.store.running(roomId);
    if (running === undefined) {
      // A re-sent request whose first run ended the call but crashed before the summary.
      if ((await deps.store.endedWithoutSummary(roomId)) === undefined) return false;
      await deps.calls.finish(roomId, 'ended_by_moderator');
      return true;
    }
    // Closing the LiveKit room disconnects everyone; its room_finished webhook ends the call.
    await deps.calls.closeLivekitRoom(running.livekitRoom, by);
    await deps.calls.finish(roomId, 'ended_by_moderator');
    deps.audit.record({ action: 'call_ended', roomId, userId: by, detail: { call_id: running.callId } });
    return true;
  }
}

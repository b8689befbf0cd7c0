/**
 * What the appservice does with each event of a transaction, in order: persist the room state it
 * changes, then act on it — join when the bot is invited, read the room in full when the bot
 * joined, take media access away on leave/kick/ban, recompute publish rights on power level
 * changes. Every step is idempotent: the homeserver re-sends a transaction that was not
 * acknowledged, and it is then done again.
 */
import type { Logger } from '../server/log.ts';
import type { CallLifecycle } from './call-lifecycle.ts';
import { HomeserverError, type HomeserverClient, type MatrixStateEvent } from './homeserver-client.ts';
import type { Revoker } from './revocation.ts';
import type { RoomStates } from './room-state.ts';

export interface EventHandlerDeps {
  botUserId: string;
  rooms: Pick<RoomStates, 'applyEvent' | 'refresh' | 'peek'>;
  homeserver: Pick<HomeserverClient, 'joinRoom'>;
  revoker: Pick<Revoker, 'removeUser' | 'updatePermissions'>;
  calls: Pick<CallLifecycle, 'onMessage'>;
  log: Logger;
}

const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

export class EventHandler {
  constructor(private readonly deps: EventHandlerDeps) {}

  /**
   * Handles one event. A definite refusal from the homeserver (a withdrawn invite, no right to post)
   * is logged and the event done with: re-sending the transaction would meet the same refusal and
   * hold up every later event, bans included. Transient failures propagate, so the homeserver
   * retries the transaction.
   */
  async handle(ev: MatrixStateEvent, arrivedAt: number): Promise<void> {
    try {
      await this.handleEvent(ev, arrivedAt);
    } catch (err) {
      if (err instanceof HomeserverError && !err.transient) {
        this.deps.log.warn('event_effect_refused', { room_id: ev.room_id, type: ev.type, error: err.message });
        return;
      }
      throw err;
    }
  }

  private async handleEvent(ev: MatrixStateEvent, arrivedAt: number): Promise<void> {
    const { deps } = this;
    const roomId = ev.room_id;
    if (roomId === undefined) return;
    if (ev.type === 'm.room.message') {
      await deps.calls.onMessage(ev);
      return;
    }
    const change = await deps.rooms.applyEvent(ev);

    if (ev.type === 'm.room.member' && ev.state_key === deps.botUserId) {
      const membership = ev.content['membership'];
      if (membership === 'invite') {
        await deps.homeserver.joinRoom(roomId, [serverOf(ev.sender)]);
        deps.log.info('bot_joined', { room_id: roomId, invited_by: ev.sender });
        await deps.rooms.refresh(roomId);
      } else if (membership === 'join' && deps.rooms.peek(roomId) === undefined) {
        await deps.rooms.refresh(roomId);
      }
      return;
    }
    if (change === undefined) return;

    if (change.kind === 'member' && change.membership !== 'join') {
      // Leave (incl. kick) and ban: out of the call now.
      const reason = change.membership === 'ban' ? 'banned' : ev.sender === change.userId ? 'left' : 'kicked';
      try {
        await deps.revoker.removeUser(roomId, change.userId, reason, arrivedAt);
      } catch (err) {
        // LiveKit unreachable: the sweep retries; do not hold up the homeserver's transactions.
        deps.log.warn('revocation_failed', { room_id: roomId, user_id: change.userId, error: (err as Error).message });
      }
    } else if (change.kind === 'power_levels') {
      const room = deps.rooms.peek(roomId);
      if (room !== undefined) {
        await deps.revoker.updatePermissions(room).catch((err: unknown) => {
          deps.log.warn('permission_update_failed', { room_id: roomId, error: (err as Error).message });
        });
      }
    }
  }
}

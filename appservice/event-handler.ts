/**
 * What the appservice does with each decoded event of a transaction, in order: apply the room
 * state it changes to the view in memory, act on it — join when the bot is invited by someone it
 * may serve, read the room in full when the bot joined, take media access away on leave/kick/ban,
 * recompute publish rights on power level changes — then store the change. Acting before storing
 * means a ban takes effect even while the database is unreachable; the transaction is then held and
 * re-sent, and every step is idempotent, so it is simply done again.
 */
import type { Logger } from '../core/log.ts';
import { serverOfUserId } from '../core/matrix-ids.ts';
import type { CallLifecycle } from './call-lifecycle.ts';
import { HomeserverError, type HomeserverClient } from './homeserver-client.ts';
import type { MatrixEvent } from '../core/matrix-events.ts';
import type { Revoker } from './revocation.ts';
import type { RoomStates } from './room-cache.ts';
import type { StoredChange } from './room-store.ts';

export interface InvitePolicy {
  /** Servers whose users may invite the bot (normalised names). */
  inviteServers: readonly string[];
  /** Most rooms the bot stays in; invites beyond are declined. */
  maxRooms: number;
}

/** Background attempts to join a room whose join was refused for now (1 s, 3 s, 9 s, 27 s apart). */
const JOIN_RETRIES = 4;

/** How long after a remote server's invite the bot declines it (see onInvite). */
const DECLINE_DELAY_MS = 2_000;

export interface EventHandlerDeps {
  botUserId: string;
  /** Our homeserver's name. */
  localServer: string;
  rooms: Pick<RoomStates, 'apply' | 'persist' | 'flush' | 'refresh' | 'peek' | 'roomIds'>;
  homeserver: Pick<HomeserverClient, 'joinRoom' | 'leaveRoom'>;
  revoker: Pick<Revoker, 'removeUser' | 'updatePermissions'>;
  calls: Pick<CallLifecycle, 'onMessage' | 'onBotRemoved' | 'onRoomChange'>;
  invites: InvitePolicy;
  log: Logger;
  /** Whether a server name is in a configured list (normalised comparison). */
  serverListed?: (server: string, list: readonly string[]) => boolean;
}

export class EventHandler {
  constructor(private readonly deps: EventHandlerDeps) {}

  /**
   * Handles one event. A definite refusal from the homeserver (a withdrawn invite, no right to post)
   * is logged and the event done with: re-sending the transaction would meet the same refusal and
   * hold up every later event, bans included. Other failures propagate to the transaction, which
   * decides whether they hold it back.
   */
  async handle(ev: MatrixEvent, arrivedAt: number, pending?: StoredChange[]): Promise<void> {
    try {
      await this.handleEvent(ev, arrivedAt, pending);
    } catch (err) {
      if (err instanceof HomeserverError && !err.transient) {
        this.deps.log.warn('event_effect_refused', { room_id: ev.room_id, type: ev.type, error: err.message });
        return;
      }
      throw err;
    }
  }

  private listed(server: string, list: readonly string[]): boolean {
    return this.deps.serverListed?.(server, list) ?? list.includes(server);
  }

  /** Accepts or declines the bot's invite: only from configured servers, and within the room cap. */
  private async onInvite(roomId: string, inviter: string): Promise<void> {
    const { deps } = this;
    const server = serverOfUserId(inviter) ?? '';
    let decline: string | undefined;
    if (!this.listed(server, deps.invites.inviteServers))
      decline = `Causerie serves rooms of ${deps.invites.inviteServers.join(', ')} only.`;
    else if (deps.rooms.roomIds().length >= deps.invites.maxRooms)
      decline = 'Causerie is in as many rooms as it may be; ask its administrator.';
    if (decline !== undefined) {
      const reason = decline;
      const send = async (): Promise<void> => {
        await deps.homeserver.leaveRoom(roomId, reason);
        deps.log.info('bot_invite_declined', { room_id: roomId, invited_by: inviter, reason });
      };
      if (server === deps.localServer) {
        await send();
        return;
      }
      // The inviting server may not have stored its own invite yet when we hear of it (it is still
      // waiting for our homeserver's signature): declining at once would be refused there, and it
      // would never see the reason. Declining a moment later is best effort; nothing waits on it.
      setTimeout(() => {
        send().catch((err: unknown) => {
          deps.log.warn('bot_invite_decline_failed', { room_id: roomId, error: (err as Error).message });
        });
      }, DECLINE_DELAY_MS).unref();
      return;
    }
    try {
      await deps.homeserver.joinRoom(roomId, [server]);
    } catch (err) {
      // A room our homeserver itself joined a moment ago may still be syncing its state (a remote
      // room joined with partial state): the join is refused for now. Tried again a few times in
      // the background rather than holding every later event of the queue.
      if (!(err instanceof HomeserverError && err.status === 404)) throw err;
      this.retryJoin(roomId, server, inviter, 1);
      return;
    }
    deps.log.info('bot_joined', { room_id: roomId, invited_by: inviter });
    await deps.rooms.refresh(roomId);
  }

  private retryJoin(roomId: string, via: string, inviter: string, attempt: number): void {
    const { deps } = this;
    if (attempt > JOIN_RETRIES) {
      deps.log.warn('bot_join_gave_up', { room_id: roomId, invited_by: inviter });
      return;
    }
    setTimeout(
      () => {
        deps.homeserver
          .joinRoom(roomId, [via])
          .then(async () => {
            deps.log.info('bot_joined', { room_id: roomId, invited_by: inviter, attempt });
            await deps.rooms.refresh(roomId);
          })
          .catch((err: unknown) => {
            deps.log.warn('bot_join_retry_failed', { room_id: roomId, attempt, error: (err as Error).message });
            this.retryJoin(roomId, via, inviter, attempt + 1);
          });
      },
      1_000 * 3 ** (attempt - 1),
    ).unref();
  }

  /**
   * `pending`: where the changes of the transaction being handled are collected, to be stored
   * together at its end (without it, each is stored at once).
   */
  private async handleEvent(ev: MatrixEvent, arrivedAt: number, pending?: StoredChange[]): Promise<void> {
    const { deps } = this;
    const roomId = ev.room_id;
    if (roomId === undefined) return;
    if (ev.type === 'm.room.message') {
      await deps.calls.onMessage(ev);
      return;
    }
    const change = deps.rooms.apply(ev);

    if (ev.type === 'm.room.member' && ev.state_key === deps.botUserId) {
      const membership = ev.content['membership'];
      if (change !== undefined) await deps.rooms.persist(roomId, change, pending);
      // A full read of a room is stored at once: what came before it in this transaction first.
      if (pending !== undefined) await deps.rooms.flush(pending);
      if (membership === 'invite') await this.onInvite(roomId, ev.sender);
      else if (membership === 'join' && deps.rooms.peek(roomId) === undefined) await deps.rooms.refresh(roomId);
      // Kicked or banned, the bot can no longer see who may be in the call: the call ends.
      else if (membership === 'leave' || membership === 'ban') await deps.calls.onBotRemoved(roomId);
      return;
    }
    if (change === undefined) return;
    deps.calls.onRoomChange(roomId, change);

    if (change.kind === 'member' && change.membership !== 'join') {
      // Leave (incl. kick) and ban: out of the call now, before anything is stored.
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
    await deps.rooms.persist(roomId, change, pending);
  }
}

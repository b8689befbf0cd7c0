/**
 * Ringing the room when we start a call, as Element Call does: with the host's `sendNotificationType`
 * (Element Web: `ring` in a DM, `notification` otherwise), the first one in the call sends an MSC4075
 * notification on its own membership (and the legacy form), and shows who declines it (MSC4310).
 * Who else is in the call comes from the call memberships the host feeds.
 */
import {
  LEGACY_NOTIFY_EVENT,
  NOTIFICATION_EVENT,
  legacyNotifyContent,
  notificationContent,
  parseCallEvent,
} from '../core/call-events.ts';
import type { RoomEvents } from './room-signals.ts';

export class Ringing {
  /** Call memberships (state keys) with a device in them, ours included. */
  private readonly inCall = new Map<string, string>();
  private notificationId: string | undefined;
  /** Users who declined our ring, in order. */
  readonly declined: string[] = [];

  constructor(
    private readonly room: RoomEvents,
    private readonly type: 'ring' | 'notification',
    private readonly me: string,
    private readonly changed: () => void,
  ) {
    room.onEvent((raw) => {
      const ev = parseCallEvent(raw);
      if (ev?.kind === 'membership') this.inCall.set(ev.stateKey, ev.identity);
      else if (ev?.kind === 'left') this.inCall.delete(ev.stateKey);
      else if (ev?.kind === 'decline' && ev.target === this.notificationId && !this.declined.includes(ev.sender)) {
        this.declined.push(ev.sender);
        this.changed();
      }
    });
  }

  /** Nobody but us in the call: then we started it. */
  private alone(): boolean {
    return [...this.inCall.values()].every((identity) => identity === this.me);
  }

  /** Our membership is written: ring if we started the call. */
  async joined(membershipEventId: string | undefined, audioOnly: boolean, now: number): Promise<void> {
    if (membershipEventId === undefined || !this.alone()) return;
    const [id] = await Promise.all([
      this.room.send(NOTIFICATION_EVENT, notificationContent(this.type, membershipEventId, now, audioOnly)),
      this.room.send(LEGACY_NOTIFY_EVENT, legacyNotifyContent(this.type)),
    ]);
    this.notificationId = id;
  }

  /** We left: a decline of this ring no longer concerns us. */
  clear(): void {
    this.notificationId = undefined;
    this.declined.length = 0;
  }
}

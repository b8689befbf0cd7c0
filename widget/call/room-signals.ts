/**
 * Raised hands and reactions shared through the room, in Element Call's format (core/call-events.ts),
 * beside the LiveKit data messages Causerie clients exchange: what Element Call users send shows on
 * their tiles here, and ours shows on their side. Needs the host to feed room events (a widget);
 * without it the data messages alone carry hands and reactions between Causerie clients.
 */
import { CALL_REACTION_EVENT, handContent, parseCallEvent, reactionContent } from '../core/call-events.ts';
import type { SignalsChannel } from './signals-channel.ts';

/** Sending and receiving room events through the host client. */
export interface RoomEvents {
  /** Sends a room event; resolves to its event id. */
  send(type: string, content: Record<string, unknown>): Promise<string | undefined>;
  redact(eventId: string): Promise<void>;
  /** Every room event the host feeds (state and timeline), as raw JSON. */
  onEvent(handler: (raw: unknown) => void): void;
}

export class RoomSignals {
  /** Call membership event id → LiveKit identity of the device that sent it. */
  private readonly memberships = new Map<string, string>();
  private readonly membershipByKey = new Map<string, string>();
  /** Hand-raise event id → identity, to lower it on redaction. */
  private readonly handEvents = new Map<string, string>();
  private ownMembership: string | undefined;
  private ownHand: string | undefined;

  constructor(
    private readonly room: RoomEvents,
    private readonly signals: SignalsChannel,
    /** Our own identity: our echoes are not news. */
    private readonly me: string,
  ) {
    room.onEvent((raw) => {
      this.received(raw);
    });
  }

  private received(raw: unknown): void {
    const ev = parseCallEvent(raw);
    if (ev === undefined) return;
    switch (ev.kind) {
      case 'membership':
        this.memberships.set(ev.eventId, ev.identity);
        this.membershipByKey.set(ev.identity, ev.eventId);
        return;
      case 'left':
        return;
      case 'reaction': {
        const identity = this.senderOf(ev.target, ev.sender);
        if (identity !== undefined) this.signals.remoteReaction(identity, ev.emoji);
        return;
      }
      case 'hand': {
        const identity = this.senderOf(ev.target, ev.sender);
        if (identity === undefined) return;
        this.handEvents.set(ev.eventId, identity);
        this.signals.remoteHand(identity, true, ev.at);
        return;
      }
      case 'redaction': {
        const identity = this.handEvents.get(ev.redacts);
        if (identity === undefined) return;
        this.handEvents.delete(ev.redacts);
        this.signals.remoteHand(identity, false, 0);
        return;
      }
    }
  }

  /** The identity whose membership `target` is, if `sender` sent it (and it is not us). */
  private senderOf(target: string, sender: string): string | undefined {
    const identity = this.memberships.get(target);
    if (identity === undefined || identity === this.me || !identity.startsWith(`${sender}:`)) return undefined;
    return identity;
  }

  /** Our membership was written: reactions and hands now point at it. */
  joined(membershipEventId: string | undefined): void {
    this.ownMembership = membershipEventId;
  }

  async react(emoji: string): Promise<void> {
    if (this.ownMembership === undefined) return;
    await this.room.send(CALL_REACTION_EVENT, reactionContent(emoji, this.ownMembership));
  }

  async hand(raised: boolean): Promise<void> {
    if (raised) {
      if (this.ownMembership === undefined || this.ownHand !== undefined) return;
      this.ownHand = await this.room.send('m.reaction', handContent(this.ownMembership));
    } else {
      const id = this.ownHand;
      this.ownHand = undefined;
      if (id !== undefined) await this.room.redact(id);
    }
  }

  /** We left: lower our hand for everyone (best effort), forget the call. */
  async clear(): Promise<void> {
    await this.hand(false).catch(() => undefined);
    this.ownMembership = undefined;
    this.handEvents.clear();
  }
}

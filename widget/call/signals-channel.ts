/**
 * Raised hands and reactions in a call, over reliable LiveKit data messages: reads what others
 * send (decoded by core/signals.ts), sends ours, and keeps who has a hand up since when and which
 * reaction each person shows, for the tiles and the participant list.
 */
import { encodeSignal, parseSignal, type Reaction, type Signal } from '../core/signals.ts';

/** How long a reaction shows on its sender's tile. */
export const REACTION_MS = 4_000;

/** Sends a data message to everyone in the call, or only to the given identities. */
export type Publish = (topic: string, payload: Uint8Array<ArrayBuffer>, to?: string[]) => Promise<void>;

export class SignalsChannel {
  /** Raised hands by identity, with when they were raised (the queue order). */
  private readonly hands = new Map<string, number>();
  private readonly reactions = new Map<string, { emoji: string; until: number }>();

  constructor(
    private readonly publish: Publish,
    private readonly changed: () => void,
    private readonly now: () => number = () => Date.now(),
  ) {}

  handAt(identity: string): number | undefined {
    return this.hands.get(identity);
  }

  reaction(identity: string): { emoji: string; until: number } | undefined {
    return this.reactions.get(identity);
  }

  /** A data message from another participant (anything not ours is ignored). */
  received(identity: string, topic: string | undefined, payload: Uint8Array): void {
    const signal = parseSignal(topic, payload, this.now());
    if (signal === undefined) return;
    if (signal.kind === 'reaction') this.showReaction(identity, signal.emoji);
    else this.remoteHand(identity, signal.raised, signal.raised ? signal.at : 0);
  }

  /** A reaction someone sent through the room (Element Call's format). */
  remoteReaction(identity: string, emoji: string): void {
    this.showReaction(identity, emoji);
  }

  /**
   * Someone's hand, through data messages or the room: both may tell of one raise, so a hand
   * already up keeps its first time (its place in the queue).
   */
  remoteHand(identity: string, raised: boolean, at: number): void {
    if (!raised) this.hands.delete(identity);
    else if (!this.hands.has(identity)) this.hands.set(identity, Math.min(at, this.now()));
    this.changed();
  }

  async react(me: string, emoji: Reaction): Promise<void> {
    this.showReaction(me, emoji);
    await this.send({ kind: 'reaction', emoji });
  }

  async toggleHand(me: string): Promise<void> {
    const raised = !this.hands.has(me);
    const at = this.now();
    if (raised) this.hands.set(me, at);
    else this.hands.delete(me);
    this.changed();
    await this.send(raised ? { kind: 'hand', raised, at } : { kind: 'hand', raised });
  }

  /** A newcomer learns whose hand is up (participants cannot carry it in their own metadata). */
  async welcome(me: string, newcomer: string): Promise<void> {
    const at = this.hands.get(me);
    if (at !== undefined) await this.send({ kind: 'hand', raised: true, at }, [newcomer]);
  }

  /** Someone left the call. */
  forget(identity: string): void {
    this.hands.delete(identity);
    this.reactions.delete(identity);
  }

  /** We left the call. */
  clear(): void {
    this.hands.clear();
    this.reactions.clear();
  }

  private showReaction(identity: string, emoji: string): void {
    this.reactions.set(identity, { emoji, until: this.now() + REACTION_MS });
    setTimeout(() => {
      const r = this.reactions.get(identity);
      if (r !== undefined && r.until <= this.now()) {
        this.reactions.delete(identity);
        this.changed();
      }
    }, REACTION_MS + 50);
    this.changed();
  }

  private async send(signal: Signal, to?: string[]): Promise<void> {
    const { topic, payload } = encodeSignal(signal);
    await this.publish(topic, payload, to);
  }
}

/**
 * Our MSC4140 delayed leave: an empty membership the homeserver writes for us if we stop restarting
 * it, so a crashed tab still leaves the call. Scheduled through the Matrix link before joining,
 * restarted every half delay; on leaving, the empty membership is written at once and the delayed
 * one cancelled.
 * Where the host or homeserver cannot delay events there is none, and the service cleans up instead.
 */
import type { MatrixLink } from './matrix-link.ts';
import type { DelayedLeave } from './token-client.ts';

/** How long the delayed leave waits before firing; restarted at half that. */
export const LEAVE_DELAY_MS = 10_000;

export class LeaveKeeper {
  private delayId: string | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly link: Pick<MatrixLink, 'sendMembership' | 'scheduleLeave' | 'restartLeave' | 'cancelLeave'>,
    private readonly stateKey: string,
    private readonly delayMs = LEAVE_DELAY_MS,
  ) {}

  /** The pending delayed leave, scheduling one first if there is none; kept alive from then on. */
  async schedule(): Promise<DelayedLeave | undefined> {
    if (this.delayId === undefined) {
      this.delayId = await this.link.scheduleLeave(this.stateKey, this.delayMs);
      this.keepAlive();
    }
    return this.pending;
  }

  get pending(): DelayedLeave | undefined {
    return this.delayId === undefined ? undefined : { id: this.delayId, timeoutMs: this.delayMs };
  }

  /** Restarts the pending delayed leave every half delay (a failed restart is tried again next time). */
  keepAlive(): void {
    if (this.timer !== undefined || this.delayId === undefined) return;
    const id = this.delayId;
    this.timer = setInterval(() => {
      this.link.restartLeave(id).catch(() => undefined);
    }, this.delayMs / 2);
  }

  /**
   * We leave: our membership ends now (written as `{}`), and the delayed leave is no longer needed.
   * Both steps are best effort: the page may be closing, and neither failure is the person's to fix.
   */
  async leaveNow(): Promise<void> {
    this.stopRestarting();
    await this.link.sendMembership(this.stateKey, {}).catch(() => undefined);
    await this.cancel();
  }

  /** Stops restarting and cancels the pending delayed leave (best effort: it fires otherwise). */
  async cancel(): Promise<void> {
    this.stopRestarting();
    const id = this.delayId;
    this.delayId = undefined;
    if (id !== undefined) await this.link.cancelLeave(id).catch(() => undefined);
  }

  private stopRestarting(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

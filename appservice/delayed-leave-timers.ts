/**
 * Per-participant scheduling for delegated delayed leaves (delayed-leaves.ts decides what runs):
 * at most one keep-alive interval and one pending re-check per participant, and a queue that runs
 * one participant's work in order, so one leave is never handled twice at once. Timers never keep
 * the process alive.
 */
const keyOf = (room: string, identity: string): string => `${room}\u0000${identity}`;

export class LeaveTimers {
  /** Keep-alive restarts, per participant. */
  private readonly keepAlives = new Map<string, NodeJS.Timeout>();
  /** Pending re-checks of a leave we could not decide yet, per participant. */
  private readonly checks = new Map<string, NodeJS.Timeout>();
  /** Work on one participant runs in order. */
  private readonly queues = new Map<string, Promise<unknown>>();

  /** Runs `fn` after the participant's work already queued. */
  serial<T>(livekitRoom: string, identity: string, fn: () => Promise<T>): Promise<T> {
    const key = keyOf(livekitRoom, identity);
    const run = (this.queues.get(key) ?? Promise.resolve()).then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  /**
   * Runs `tick` every `everyMs` in place of the participant's previous keep-alive; ticks never
   * overlap, however long one takes. `current()` tells a tick whether its keep-alive is still the
   * participant's one.
   */
  keepAlive(
    livekitRoom: string,
    identity: string,
    everyMs: number,
    tick: (current: () => boolean) => Promise<void>,
    onError: (err: unknown) => void,
  ): void {
    this.stopKeepAlive(livekitRoom, identity);
    const key = keyOf(livekitRoom, identity);
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      tick(() => this.keepAlives.get(key) === timer)
        .catch(onError)
        .finally(() => {
          busy = false;
        });
    }, everyMs);
    timer.unref();
    this.keepAlives.set(key, timer);
  }

  stopKeepAlive(livekitRoom: string, identity: string): void {
    const key = keyOf(livekitRoom, identity);
    const t = this.keepAlives.get(key);
    if (t !== undefined) clearInterval(t);
    this.keepAlives.delete(key);
  }

  /** Runs `check` in `ms`, in place of the participant's pending one. */
  checkLater(livekitRoom: string, identity: string, ms: number, check: () => void): void {
    this.cancelCheck(livekitRoom, identity);
    const key = keyOf(livekitRoom, identity);
    const timer = setTimeout(() => {
      if (this.checks.get(key) === timer) this.checks.delete(key);
      check();
    }, ms);
    timer.unref();
    this.checks.set(key, timer);
  }

  cancelCheck(livekitRoom: string, identity: string): void {
    const key = keyOf(livekitRoom, identity);
    const t = this.checks.get(key);
    if (t !== undefined) clearTimeout(t);
    this.checks.delete(key);
  }

  /** Stops every keep-alive and pending re-check (queued work runs on). */
  clear(): void {
    for (const t of this.keepAlives.values()) clearInterval(t);
    this.keepAlives.clear();
    for (const t of this.checks.values()) clearTimeout(t);
    this.checks.clear();
  }
}

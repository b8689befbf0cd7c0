/**
 * The widget's MSC4140 delayed leave, with fake timers and a fake Matrix link: scheduled once,
 * restarted every half delay, written at once and cancelled on leaving.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { LEAVE_DELAY_MS, LeaveKeeper } from '../../widget/call/leave-keeper.ts';

/** A fake link that records what the widget asks of the homeserver. */
function fakeLink({ delayedEvents = true } = {}) {
  const delayId = delayedEvents ? 'delay-1' : undefined;
  const log: string[] = [];
  return {
    log,
    sendMembership: (stateKey: string, content: Record<string, unknown>) => {
      log.push(`send ${stateKey} ${JSON.stringify(content)}`);
      return Promise.resolve<string | undefined>('$membership');
    },
    scheduleLeave: (stateKey: string, delayMs: number) => {
      log.push(`schedule ${stateKey} ${delayMs}`);
      return Promise.resolve(delayId);
    },
    restartLeave: vi.fn((id: string) => {
      log.push(`restart ${id}`);
      return Promise.resolve();
    }),
    cancelLeave: (id: string) => {
      log.push(`cancel ${id}`);
      return Promise.resolve();
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const restarts = (log: string[]): number => log.filter((l) => l.startsWith('restart')).length;

describe('the delayed leave', () => {
  it('is scheduled once for 10 s and restarted every 5 s', async () => {
    const link = fakeLink();
    const keeper = new LeaveKeeper(link, 'KEY');
    expect(await keeper.schedule()).toEqual({ id: 'delay-1', timeoutMs: LEAVE_DELAY_MS });
    expect(await keeper.schedule()).toEqual({ id: 'delay-1', timeoutMs: 10_000 });
    keeper.keepAlive(); // already kept alive: no second timer
    await vi.advanceTimersByTimeAsync(15_000);
    expect(link.log).toEqual(['schedule KEY 10000', 'restart delay-1', 'restart delay-1', 'restart delay-1']);
    await keeper.cancel();
  });

  it('keeps restarting after a restart fails', async () => {
    const link = fakeLink();
    link.restartLeave.mockRejectedValueOnce(new Error('homeserver down'));
    const keeper = new LeaveKeeper(link, 'KEY');
    await keeper.schedule();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(link.restartLeave).toHaveBeenCalledTimes(2);
    await keeper.cancel();
  });

  it('on leaving, writes the empty membership at once, then cancels the delayed one and stops restarting', async () => {
    const link = fakeLink();
    const keeper = new LeaveKeeper(link, 'KEY');
    await keeper.schedule();
    await keeper.leaveNow();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(link.log).toEqual(['schedule KEY 10000', 'send KEY {}', 'cancel delay-1']);
    expect(keeper.pending).toBeUndefined();
  });

  it('when the lobby is closed, is cancelled and a new one is scheduled for a later join', async () => {
    const link = fakeLink();
    const keeper = new LeaveKeeper(link, 'KEY');
    await keeper.schedule();
    await keeper.cancel();
    await keeper.schedule();
    expect(link.log).toEqual(['schedule KEY 10000', 'cancel delay-1', 'schedule KEY 10000']);
    await keeper.cancel();
  });

  it('where the homeserver cannot delay events, there is none to restart, and it is asked again next time', async () => {
    const link = fakeLink({ delayedEvents: false });
    const keeper = new LeaveKeeper(link, 'KEY');
    expect(await keeper.schedule()).toBeUndefined();
    keeper.keepAlive();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(restarts(link.log)).toBe(0);
    await keeper.schedule();
    await keeper.leaveNow();
    expect(link.log).toEqual(['schedule KEY 10000', 'schedule KEY 10000', 'send KEY {}']);
  });
});

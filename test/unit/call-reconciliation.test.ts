import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { CallReconciliation, lostRoomAction, recount } from '../../appservice/call-reconciliation.ts';
import { createLogger } from '../../core/log.ts';

describe('deciding about a running call', () => {
  it('one whose LiveKit room vanished is recreated while anyone was connected, else ended', () => {
    expect(lostRoomAction(2)).toBe('recreate');
    expect(lostRoomAction(0)).toBe('end');
  });

  it('participants are recounted: present but unrecorded join, recorded but absent leave, the rest stay', () => {
    const present = [{ identity: 'A' }, { identity: 'C' }];
    expect(recount(present, ['A', 'B'])).toEqual({ joined: [{ identity: 'C' }], left: ['B'] });
    expect(recount([], ['A'])).toEqual({ joined: [], left: ['A'] });
    expect(recount(present, ['A', 'C'])).toEqual({ joined: [], left: [] });
  });
});

describe('checking running calls on a timer (fake clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const reconciliation = (listRooms: () => Promise<{ name: string }[]>) => {
    const lines: string[] = [];
    const store = {
      runningCalls: vi.fn(() =>
        Promise.resolve([
          {
            callId: 1,
            roomId: '!r:a.example',
            livekitRoom: 'LK',
            startedAt: new Date(),
            startedBy: undefined,
            startEventId: undefined,
          },
        ]),
      ),
      openParticipants: vi.fn(() => Promise.resolve([])),
      participantJoined: vi.fn(),
      participantLeft: vi.fn(),
    };
    const finish = vi.fn(() => Promise.resolve());
    const r = new CallReconciliation({
      store,
      calls: { finish },
      livekitRooms: { ensure: vi.fn(), forget: vi.fn() },
      livekit: { listRooms: vi.fn(listRooms) as never, listParticipants: vi.fn(() => Promise.resolve([])) },
      identities: { usersOf: () => Promise.resolve(new Map()) },
      remoteMembers: { sync: vi.fn(() => Promise.resolve()), present: () => false },
      audit: { record: vi.fn() },
      log: createLogger('test', (l) => lines.push(l)),
    });
    return { r, store, finish, lines };
  };

  it('checks every interval, and stops with stop()', async () => {
    const { r, store, finish } = reconciliation(() => Promise.resolve([]));
    r.start(30_000);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(store.runningCalls).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(store.runningCalls).toHaveBeenCalledTimes(1);
    expect(finish).toHaveBeenCalledWith('!r:a.example', 'livekit_room_lost');
    r.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(store.runningCalls).toHaveBeenCalledTimes(1);
  });

  it('LiveKit unreachable: no call is ended or recounted, the failure is logged and the next tick asks again', async () => {
    const { r, store, finish, lines } = reconciliation(() => Promise.reject(new TypeError('fetch failed')));
    r.start(30_000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(store.runningCalls).toHaveBeenCalledTimes(2);
    expect(finish).not.toHaveBeenCalled();
    expect(store.openParticipants).not.toHaveBeenCalled();
    expect(lines.join('')).toMatch(/call_check_failed/);
    r.stop();
  });
});

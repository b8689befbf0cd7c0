import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { membershipToClear, StaleMemberships } from '../../appservice/stale-memberships.ts';
import { createLogger } from '../../core/log.ts';
import { parsePowerLevels } from '../../core/matrix-events.ts';
import type { CallRoomView } from '../../core/room-model.ts';
import { CALL_MEMBER_EVENT, type RtcMembership } from '../../core/rtc-membership.ts';

const OURS = 'https://causerie.a.example';
const IDENTITY = 'alice-lk-identity';

const membership = (stateKey: string, serviceUrl: string | undefined = OURS): RtcMembership => ({
  stateKey,
  userId: '@alice:a.example',
  deviceId: 'DEV',
  livekitIdentity: IDENTITY,
  livekitServiceUrl: serviceUrl,
  expiresAt: undefined,
});

const roomWith = (...memberships: RtcMembership[]): CallRoomView => ({
  roomId: '!r:a.example',
  roomVersion: '12',
  creators: new Set(),
  members: new Map(),
  rtc: new Map(memberships.map((m) => [m.stateKey, [m]])),
  powerLevels: parsePowerLevels({}),
});

describe('which membership a departed participant leaves to clear', () => {
  it('its per-device membership naming our SFU (trailing slashes aside), or naming no SFU', () => {
    const device = membership('_@alice:a.example_DEV_m.call', `${OURS}//`);
    expect(membershipToClear(roomWith(device), IDENTITY, `${OURS}/`)).toBe(device);
    const unnamed = membership('_@alice:a.example_DEV_m.call', undefined);
    expect(membershipToClear(roomWith(unnamed), IDENTITY, OURS)).toBe(unnamed);
  });

  it('never a sticky (rtc:) or a per-user state key: writing `{}` there would clear other devices', () => {
    expect(membershipToClear(roomWith(membership('rtc:member-1')), IDENTITY, OURS)).toBeUndefined();
    expect(membershipToClear(roomWith(membership('@alice:a.example')), IDENTITY, OURS)).toBeUndefined();
  });

  it('never one naming another SFU: it may well still be in the call there', () => {
    const elsewhere = membership('_@alice:a.example_DEV_m.call', 'https://sfu.b.example');
    expect(membershipToClear(roomWith(elsewhere), IDENTITY, OURS)).toBeUndefined();
  });

  it('none for an identity no membership names', () => {
    expect(membershipToClear(roomWith(membership('_@alice:a.example_DEV_m.call')), 'other', OURS)).toBeUndefined();
  });
});

describe('clearing a stale membership after the grace period (fake clock)', () => {
  const GRACE = 30_000;
  const KEY = '_@alice:a.example_DEV_m.call';
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const stale = (listParticipants: () => Promise<{ identity: string }[]>) => {
    const sendState = vi.fn(() => Promise.resolve('$s'));
    const lines: string[] = [];
    const s = new StaleMemberships({
      rooms: { peek: () => roomWith(membership(KEY)) },
      homeserver: { sendState },
      livekit: { listParticipants: vi.fn(listParticipants) as never },
      audit: { record: vi.fn() },
      log: createLogger('test', (l) => lines.push(l)),
      publicUrl: OURS,
      graceMs: GRACE,
    });
    return { s, sendState, lines };
  };

  it('is not cleared before the grace; after it, a participant still gone has `{}` written to its key', async () => {
    const { s, sendState } = stale(() => Promise.resolve([]));
    s.watch('!r:a.example', 'LK', IDENTITY);
    await vi.advanceTimersByTimeAsync(GRACE - 1);
    expect(sendState).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(sendState).toHaveBeenCalledWith('!r:a.example', CALL_MEMBER_EVENT, KEY, {});
  });

  it('a participant back in LiveKit within the grace keeps its membership', async () => {
    const { s, sendState } = stale(() => Promise.resolve([{ identity: IDENTITY }]));
    s.watch('!r:a.example', 'LK', IDENTITY);
    await vi.advanceTimersByTimeAsync(GRACE);
    expect(sendState).not.toHaveBeenCalled();
  });

  it('LiveKit unreachable when the grace ends clears nothing (a failure to ask is not "gone")', async () => {
    const { s, sendState, lines } = stale(() => Promise.reject(new TypeError('fetch failed')));
    s.watch('!r:a.example', 'LK', IDENTITY);
    await vi.advanceTimersByTimeAsync(GRACE);
    expect(sendState).not.toHaveBeenCalled();
    expect(lines.join('')).toMatch(/stale_membership_cleanup_failed/);
  });

  it('stop() cancels the pending checks', async () => {
    const { s, sendState } = stale(() => Promise.resolve([]));
    s.watch('!r:a.example', 'LK', IDENTITY);
    s.stop();
    await vi.advanceTimersByTimeAsync(GRACE * 2);
    expect(sendState).not.toHaveBeenCalled();
  });
});

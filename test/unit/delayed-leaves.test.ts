import { ParticipantInfo, ParticipantInfo_State, ServerError } from 'livekit-server-sdk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type Mock } from 'vitest';

import { decideLeave, keepAliveIntervalMs, retryDelay } from '../../appservice/delayed-leave-decisions.ts';
import { DelayedLeaves, type DelayedLeavesOptions } from '../../appservice/delayed-leaves.ts';
import { type DelegatedLeave } from '../../core/delegated-leave.ts';
import { openDatabase, type Database } from '../../schema/database.ts';
import { migrate } from '../../schema/migrate.ts';
import type { AuditEntry } from '../../core/audit-trail.ts';
import { createLogger } from '../../core/log.ts';

let db: Database;
beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  await migrate(db);
});
afterAll(async () => {
  await db.close();
});

/** A LiveKit that can be down, knowing which sessions are connected in which rooms. */
class FakeLivekit {
  down = false;
  calls = 0;
  readonly rooms = new Map<string, Map<string, string>>(); // room → identity → sid

  connect(room: string, identity: string, sid: string): void {
    const r = this.rooms.get(room) ?? new Map<string, string>();
    r.set(identity, sid);
    this.rooms.set(room, r);
  }
  disconnect(room: string, identity: string): void {
    this.rooms.get(room)?.delete(identity);
  }

  private ask(): void {
    this.calls++;
    if (this.down) throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:7880') });
  }
  listParticipants = async (room: string): Promise<ParticipantInfo[]> => {
    await Promise.resolve();
    this.ask();
    const r = this.rooms.get(room);
    if (r === undefined) throw new ServerError('Not Found', 'room not found', 404, 'not_found');
    return [...r].map(([identity, sid]) => new ParticipantInfo({ identity, sid, state: ParticipantInfo_State.ACTIVE }));
  };
  getParticipant = async (room: string, identity: string): Promise<ParticipantInfo> => {
    await Promise.resolve();
    this.ask();
    const sid = this.rooms.get(room)?.get(identity);
    if (sid === undefined) throw new ServerError('Not Found', 'participant not found', 404, 'not_found');
    return new ParticipantInfo({ identity, sid, state: ParticipantInfo_State.ACTIVE });
  };
}

interface Post {
  userId: string;
  delayId: string;
  action: string;
}

let livekit: FakeLivekit;
let posts: Post[];
let audit: Mock<(entry: AuditEntry) => void>;
const running: DelayedLeaves[] = [];

function leaves(opts: DelayedLeavesOptions = {}): DelayedLeaves {
  const l = new DelayedLeaves(
    {
      db,
      livekit,
      audit: { record: audit },
      log: createLogger('test', () => undefined),
      clientApi: {
        post: (userId, path, body) => {
          posts.push({
            userId,
            delayId: decodeURIComponent(path.split('/').pop() ?? ''),
            action: (body as { action: string }).action,
          });
          return Promise.resolve({ status: 200, body: {} });
        },
      },
    },
    { connectGraceMs: 0, retryBaseMs: 10, retryMaxMs: 40, ...opts },
  );
  running.push(l);
  return l;
}

const sent = (): string[] => posts.filter((p) => p.action === 'send').map((p) => p.delayId);
const rows = async (): Promise<{ identity: string; delay_id: string; participant_sid: string | null }[]> =>
  db.query('SELECT identity, delay_id, participant_sid FROM delegated_leaves ORDER BY identity');

const ROOM = 'lk-room';
const BOB = '@bob:b.example';
const leave = (identity: string, delayId: string, userId = BOB, room = ROOM): DelegatedLeave => ({
  livekitRoom: room,
  identity,
  roomId: '!r:a.example',
  userId,
  deviceId: 'DEV',
  delayId,
  delayTimeoutMs: 60_000,
});

beforeEach(async () => {
  await db.query('DELETE FROM delegated_leaves');
  livekit = new FakeLivekit();
  posts = [];
  audit = vi.fn<(entry: AuditEntry) => void>();
});
afterEach(() => {
  for (const l of running.splice(0)) l.stop();
});

describe('deciding a delegated leave', () => {
  const grace = 60_000;
  it.each([
    ['the holder left and no session is connected', 'S1', 'S1', { present: false }, { do: 'send' }],
    ['LiveKit still lists the session it reported gone', 'S1', 'S1', { present: true, sid: 'S1' }, { do: 'send' }],
    [
      'a newer session of the identity is connected',
      'S1',
      'S1',
      { present: true, sid: 'S2' },
      { do: 'keep', sid: 'S2' },
    ],
    [
      'an old session left while the holder is connected',
      'S2',
      'S1',
      { present: true, sid: 'S2' },
      { do: 'keep', sid: 'S2' },
    ],
    ['LiveKit cannot tell, the holder left', 'S1', 'S1', 'unknown', { do: 'retry', stopKeepAlive: true }],
    ['LiveKit cannot tell, another session left', 'S2', 'S1', 'unknown', { do: 'retry', stopKeepAlive: false }],
  ] as const)('%s', (_what, holder, leaving, presence, decision) => {
    expect(decideLeave({ participantSid: holder, ageMs: 0 }, leaving, presence, grace)).toEqual(decision);
  });

  it('a delay id registered moments ago waits for its session to connect before "gone" counts', () => {
    expect(decideLeave({ participantSid: null, ageMs: 10_000 }, 'OLD', { present: false }, grace)).toEqual({
      do: 'wait',
      ms: 50_000,
    });
    expect(decideLeave({ participantSid: null, ageMs: 61_000 }, 'OLD', { present: false }, grace)).toEqual({
      do: 'send',
    });
  });
});

describe('timing a delegated leave', () => {
  it('asks again after the base wait, doubling per attempt up to the cap', () => {
    expect([0, 1, 2, 3, 10, 100].map((n) => retryDelay(n, 2_000, 60_000))).toEqual([
      2_000, 4_000, 8_000, 16_000, 60_000, 60_000,
    ]);
    expect(retryDelay(-1, 2_000, 60_000)).toBe(2_000);
  });

  it('restarts a kept delay at half its timeout, at most once a second', () => {
    expect(keepAliveIntervalMs(60_000)).toBe(30_000);
    expect(keepAliveIntervalMs(1_001)).toBe(1_000);
    expect(keepAliveIntervalMs(10)).toBe(1_000);
  });
});

describe('delegated delayed leaves', () => {
  it('the session that registered the delay id leaving sends its leave, once', async () => {
    const l = leaves();
    await l.register(leave('@bob:b.example:DEV', 'd1'));
    livekit.connect(ROOM, '@bob:b.example:DEV', 'PA_1');
    expect(await l.joined(ROOM, '@bob:b.example:DEV', 'PA_1')).toBe('kept');
    expect(await rows()).toEqual([{ identity: '@bob:b.example:DEV', delay_id: 'd1', participant_sid: 'PA_1' }]);
    livekit.disconnect(ROOM, '@bob:b.example:DEV');
    const outcomes = await Promise.all([
      l.left(ROOM, '@bob:b.example:DEV', 'PA_1'),
      l.left(ROOM, '@bob:b.example:DEV', 'PA_1'),
    ]);
    expect(outcomes.sort()).toEqual(['none', 'sent']);
    expect(posts).toEqual([
      { userId: BOB, delayId: 'd1', action: 'restart' },
      { userId: BOB, delayId: 'd1', action: 'send' },
    ]);
    expect(await rows()).toEqual([]);
    expect(audit).toHaveBeenCalledWith(expect.objectContaining({ action: 'delayed_leave_sent', userId: BOB }));
  });

  it('an old session’s late "left" does not send the leave of the device’s newer session', async () => {
    const l = leaves();
    const id = '@bob:b.example:DEV';
    await l.register(leave(id, 'd-old'));
    livekit.connect(ROOM, id, 'PA_old');
    await l.joined(ROOM, id, 'PA_old');
    // The device reconnects: a new token with a new delay id, a new session under the same identity.
    await l.register(leave(id, 'd-new'));
    expect(await rows()).toEqual([{ identity: id, delay_id: 'd-new', participant_sid: null }]);
    livekit.connect(ROOM, id, 'PA_new');
    await l.joined(ROOM, id, 'PA_new');
    // Only now does LiveKit report the old session gone.
    expect(await l.left(ROOM, id, 'PA_old')).toBe('kept');
    expect(sent()).toEqual([]);
    expect(await rows()).toEqual([{ identity: id, delay_id: 'd-new', participant_sid: 'PA_new' }]);
    // The new session leaving does send it.
    livekit.disconnect(ROOM, id);
    expect(await l.left(ROOM, id, 'PA_new')).toBe('sent');
    expect(sent()).toEqual(['d-new']);
  });

  it('an old session’s "left" before the new session joined: a connected newer session keeps the leave', async () => {
    const l = leaves();
    const id = '@bob:b.example:DEV';
    await l.register(leave(id, 'd-old'));
    await l.joined(ROOM, id, 'PA_old');
    await l.register(leave(id, 'd-new'));
    livekit.connect(ROOM, id, 'PA_new'); // connected, its "joined" webhook not here yet
    expect(await l.left(ROOM, id, 'PA_old')).toBe('kept');
    expect(sent()).toEqual([]);
    expect(await rows()).toEqual([{ identity: id, delay_id: 'd-new', participant_sid: 'PA_new' }]);
  });

  it('an old session’s "left" while the new session is still connecting sends nothing', async () => {
    const l = leaves({ connectGraceMs: 60_000 });
    const id = '@bob:b.example:DEV';
    await l.register(leave(id, 'd-old'));
    await l.joined(ROOM, id, 'PA_old');
    await l.register(leave(id, 'd-new')); // token issued; the client has not connected yet
    expect(await l.left(ROOM, id, 'PA_old')).toBe('deferred');
    livekit.connect(ROOM, id, 'PA_new');
    expect(await l.joined(ROOM, id, 'PA_new')).toBe('kept');
    expect(sent()).toEqual([]);
  });

  it('LiveKit unreachable when a participant leaves: nothing is sent until LiveKit confirms it gone', async () => {
    const l = leaves();
    const id = '@bob:b.example:DEV';
    await l.register(leave(id, 'd1'));
    await l.joined(ROOM, id, 'PA_1');
    livekit.down = true;
    expect(await l.left(ROOM, id)).toBe('deferred');
    await vi.waitFor(() => {
      expect(livekit.calls).toBeGreaterThanOrEqual(3); // asked again, with backoff
    });
    expect(sent()).toEqual([]);
    expect(await rows()).toHaveLength(1);
    livekit.down = false; // back, and the participant is not connected
    await vi.waitFor(() => {
      expect(sent()).toEqual(['d1']);
    });
    await vi.waitFor(async () => {
      expect(await rows()).toEqual([]);
    });
  });

  it('LiveKit unreachable at start: nothing is sent and the rows stay; once it answers, absent participants’ leaves are sent and connected ones kept', async () => {
    const setup = leaves();
    await setup.register(leave('@bob:b.example:GONE', 'd-gone'));
    await setup.register(leave('@carol:c.example:HERE', 'd-here', '@carol:c.example', 'lk-other'));
    livekit.connect('lk-other', '@carol:c.example:HERE', 'PA_carol');
    setup.stop();

    livekit.down = true;
    const l = leaves();
    await l.resume();
    await vi.waitFor(() => {
      expect(livekit.calls).toBeGreaterThanOrEqual(6); // both rooms asked again, with backoff
    });
    expect(posts).toEqual([]);
    expect(await rows()).toHaveLength(2);

    livekit.down = false;
    await vi.waitFor(() => {
      expect(sent()).toEqual(['d-gone']);
      expect(posts).toContainEqual({ userId: '@carol:c.example', delayId: 'd-here', action: 'restart' });
    });
    expect(await rows()).toEqual([
      { identity: '@carol:c.example:HERE', delay_id: 'd-here', participant_sid: 'PA_carol' },
    ]);
  });

  it('a user’s delay ids are bounded: registering beyond the bound drops that user’s oldest', async () => {
    const l = leaves({ maxPerUser: 3 });
    await l.register(leave('@carol:c.example:C', 'c1', '@carol:c.example'));
    for (let i = 1; i <= 5; i++) await l.register(leave(`@bob:b.example:D${i}`, `d${i}`));
    // Registering again for a kept identity does not take a second place.
    await l.register(leave('@bob:b.example:D4', 'd4b'));
    expect((await rows()).map((r) => r.delay_id).sort()).toEqual(['c1', 'd3', 'd4b', 'd5']);
  });

  it('stop() ends every timer: no more questions to LiveKit and no more requests', async () => {
    const l = leaves();
    await l.register(leave('@bob:b.example:A', 'a'));
    await l.register(leave('@bob:b.example:B', 'b'));
    livekit.connect(ROOM, '@bob:b.example:A', 'PA_A');
    await l.joined(ROOM, '@bob:b.example:A', 'PA_A');
    livekit.down = true;
    expect(await l.left(ROOM, '@bob:b.example:B', 'PA_B')).toBe('deferred');
    await l.resume();
    l.stop();
    const [calls, requests] = [livekit.calls, posts.length];
    livekit.down = false;
    await new Promise((resolve) => setTimeout(resolve, 200)); // several backoff periods
    expect([livekit.calls, posts.length]).toEqual([calls, requests]);
  });
});

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { CallLifecycle } from '../../appservice/call-lifecycle.ts';
import { CallStore } from '../../appservice/call-store.ts';
import { EventHandler } from '../../appservice/event-handler.ts';
import { Revoker } from '../../appservice/revocation.ts';
import type { MatrixEvent } from '../../core/matrix-events.ts';
import { parseMembershipEvent } from '../../core/rtc-membership.ts';
import { migrate } from '../../schema/migrate.ts';
import { openDatabase, type Database } from '../../schema/database.ts';
import { AuditLog } from '../../schema/audit-log.ts';
import { LivekitIdentities } from '../../livekit/identities.ts';
import { createLogger } from '../../core/log.ts';
import { isServerNameListed } from '../../core/matrix-ids.ts';

const log = createLogger('test', () => undefined);

describe('whom the bot serves', () => {
  const invite = (sender: string, roomId = '!r:x'): MatrixEvent => ({
    type: 'm.room.member',
    state_key: '@causerie:a.example',
    sender,
    room_id: roomId,
    content: { membership: 'invite' },
  });
  const handler = (roomCount: number) => {
    const homeserver = { joinRoom: vi.fn(() => Promise.resolve()), leaveRoom: vi.fn(() => Promise.resolve()) };
    const h = new EventHandler({
      botUserId: '@causerie:a.example',
      localServer: 'a.example',
      rooms: {
        apply: () => undefined,
        persist: () => Promise.resolve(),
        flush: () => Promise.resolve(),
        refresh: () => Promise.resolve({} as never),
        peek: () => undefined,
        roomIds: () => Array.from({ length: roomCount }, (_, i) => `!r${i}:a.example`),
      },
      homeserver,
      revoker: { removeUser: vi.fn(), updatePermissions: vi.fn() },
      calls: { onMessage: vi.fn(), onBotRemoved: vi.fn(), onRoomChange: vi.fn() },
      invites: { inviteServers: ['a.example'], maxRooms: 3 },
      log,
      serverListed: isServerNameListed,
    });
    return { h, homeserver };
  };

  it('joins when a user of a configured server invites it', async () => {
    const { h, homeserver } = handler(0);
    await h.handle(invite('@alice:A.example'), Date.now());
    expect(homeserver.joinRoom).toHaveBeenCalledWith('!r:x', ['A.example']);
    expect(homeserver.leaveRoom).not.toHaveBeenCalled();
  });

  it('declines, with a reason, an invite beyond its room cap', async () => {
    const { h, homeserver } = handler(3);
    await h.handle(invite('@alice:a.example'), Date.now());
    expect(homeserver.joinRoom).not.toHaveBeenCalled();
    expect(homeserver.leaveRoom).toHaveBeenCalledWith('!r:x', expect.stringMatching(/as many rooms as it may be/));
  });
});

describe('sticky MatrixRTC memberships (org.matrix.msc4143.rtc.member)', () => {
  const sticky = (sender: string, member: Record<string, unknown>) =>
    parseMembershipEvent({ type: 'org.matrix.msc4143.rtc.member', sender, content: { member } });

  it('a membership naming another user than its sender gives no membership', () => {
    expect(sticky('@eve:b.example', { id: 'm1', device_id: 'D', user_id: '@alice:a.example' }).memberships).toEqual([]);
  });

  it('two senders reusing one member id are kept apart (neither overwrites the other)', () => {
    const a = sticky('@alice:a.example', { id: 'same', device_id: 'D1' });
    const e = sticky('@eve:b.example', { id: 'same', device_id: 'D2' });
    expect(a.stateKey).not.toBe(e.stateKey);
    expect(a.memberships[0]?.userId).toBe('@alice:a.example');
  });

  it('a device id that could make identities collide, or a 10 KiB member id, gives no membership', () => {
    expect(sticky('@alice:a.example', { id: 'm', device_id: 'A:B' }).memberships).toEqual([]);
    expect(sticky('@alice:a.example', { id: 'm'.repeat(10_240), device_id: 'D' }).stateKey).toBeUndefined();
  });
});

describe('with a real database (PGlite)', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ dataDir: 'memory://' });
    await migrate(db);
  }, 60_000);
  afterAll(async () => {
    await db.close();
  });

  it('identities are bounded per user and room: inventing member ids keeps at most 32', async () => {
    const ids = new LivekitIdentities(db);
    for (let i = 0; i < 40; i++)
      await ids.record({ livekitRoom: 'LK', identity: `id-${i}`, roomId: '!r', userId: '@u:x', deviceId: 'D' });
    const kept = await ids.identitiesOf('LK', '@u:x');
    const rows = await db.query<{ n: string }>("SELECT count(*) AS n FROM livekit_identities WHERE user_id = '@u:x'");
    expect(Number(rows[0]?.n)).toBe(32);
    expect(kept).toContain('id-39');
  });

  it('an audit batch the database refuses is written row by row: one bad row never drops the others', async () => {
    const audit = new AuditLog(db, log);
    // A detail PostgreSQL refuses (a number jsonb cannot hold) stands between two good rows.
    audit.record({ action: 'good_1', roomId: '!audit' });
    audit.record({ action: 'bad', roomId: '!audit', detail: { n: Number.NaN } });
    audit.record({ action: 'good_2', roomId: '!audit' });
    await audit.flush();
    const rows = await db.query<{ action: string }>(
      "SELECT action FROM audit_log WHERE room_id = '!audit' ORDER BY id",
    );
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['good_1', 'good_2']));
  });

  it('audit rows the database cannot take now are kept, bounded, and written when it answers', async () => {
    let down = true;
    const flaky: Pick<Database, 'query'> = {
      query: <R extends object>(sql: string, params?: readonly unknown[]) =>
        down
          ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
          : db.query<R>(sql, params),
    };
    const audit = new AuditLog(flaky, log, { maxPending: 5 });
    for (let i = 0; i < 8; i++) audit.record({ action: `kept_${i}`, roomId: '!outage' });
    await audit.flush();
    expect(audit.pending()).toBe(5);
    expect(audit.dropped).toBe(3);
    down = false;
    await audit.flush();
    const rows = await db.query<{ action: string }>("SELECT action FROM audit_log WHERE room_id = '!outage'");
    expect(rows).toHaveLength(5);
  });
});

describe('reconciling running calls with LiveKit (real database, fake LiveKit)', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ dataDir: 'memory://' });
    await migrate(db);
  }, 60_000);
  afterAll(async () => {
    await db.close();
  });

  const lifecycle = (calls: CallStore, live: string[], present: string[] = []) => {
    const sendEvent = vi.fn(() => Promise.resolve('$n'));
    const ensure = vi.fn(() => Promise.resolve('created' as const));
    const lc = new CallLifecycle({
      botUserId: '@causerie:a.example',
      homeserver: { sendEvent, sendState: vi.fn() },
      rooms: { peek: () => undefined, roomIds: () => [] },
      calls,
      livekitRooms: { ensure, forget: vi.fn() },
      livekit: {
        deleteRoom: vi.fn(),
        removeParticipant: vi.fn(),
        listRooms: (names?: string[]) =>
          Promise.resolve(live.filter((n) => names?.includes(n) ?? true).map((name) => ({ name }) as never)),
        listParticipants: () => Promise.resolve(present.map((identity) => ({ identity, attributes: {} }) as never)),
      },
      identities: { usersOf: () => Promise.resolve(new Map()) },
      revoker: { admit: vi.fn(() => Promise.resolve('admitted' as const)) },
      fullAccessServers: ['a.example'],
      serverListed: isServerNameListed,
      audit: { record: vi.fn() },
      log,
      delayedLeaves: { joined: vi.fn(), left: vi.fn() },
      publicUrl: 'http://x',
      moderatorPowerLevel: 50,
      staleGraceMs: 1_000,
      remoteEndGraceMs: 30_000,
    });
    return { lc, sendEvent, ensure };
  };

  it('a running call whose LiveKit room vanished with nobody in it is ended, with its summary', async () => {
    const calls = new CallStore(db);
    await calls.start('!lost:a.example', 'LK-lost', '@alice:a.example', '$start-lost');
    const { lc, sendEvent } = lifecycle(calls, []);
    await lc.checkRunningCalls();
    expect(await calls.running('!lost:a.example')).toBeUndefined();
    expect(sendEvent).toHaveBeenCalledWith(
      '!lost:a.example',
      'm.room.message',
      expect.any(String),
      expect.objectContaining({ body: expect.stringMatching(/Call ended/) as unknown, 'm.mentions': {} }),
    );
  });

  it('one whose room vanished while people were connected (LiveKit restarted) is recreated, not ended', async () => {
    const calls = new CallStore(db);
    const { call } = await calls.start('!restart:a.example', 'LK-restart', '@alice:a.example', '$start-restart');
    await calls.participantJoined(call.callId, '@alice:a.example:D', '@alice:a.example', 'D', new Date());
    const { lc, ensure } = lifecycle(calls, []);
    await lc.checkRunningCalls();
    expect(ensure).toHaveBeenCalledWith('LK-restart', true);
    expect(await calls.running('!restart:a.example')).toBeDefined();
  });

  it('participants are recounted from LiveKit: present but unrecorded joins, recorded but absent leaves', async () => {
    const calls = new CallStore(db);
    const { call } = await calls.start('!count:a.example', 'LK-count', '@alice:a.example', '$start-count');
    await calls.participantJoined(call.callId, 'gone-identity', '@bob:b.example', 'D', new Date());
    const { lc } = lifecycle(calls, ['LK-count'], ['new-identity']);
    await lc.checkRunningCalls();
    expect(await calls.openParticipants(call.callId)).toEqual(['new-identity']);
  });
});

describe('a participant connecting', () => {
  const view = (membership: 'join' | 'ban', power: number) => ({
    roomId: '!r:a.example',
    roomVersion: '12',
    creators: new Set<string>(),
    members: new Map([['@bob:b.example', { membership, displayname: undefined }]]),
    rtc: new Map(),
    powerLevels: {
      users: { '@bob:b.example': power },
      users_default: 0,
      events: { 'org.matrix.msc3401.call.member': 50 },
      state_default: 50,
      events_default: 0,
      kick: 50,
      ban: 50,
      invite: 0,
      redact: 50,
    },
  });
  const revoker = (membership: 'join' | 'ban', power: number) => {
    const livekit = {
      removeParticipant: vi.fn(() => Promise.resolve()),
      updateParticipant: vi.fn(() => Promise.resolve({} as never)),
      listParticipants: vi.fn(() => Promise.resolve([])),
      listRooms: vi.fn(() => Promise.resolve([])),
    };
    const r = new Revoker({
      livekit,
      identities: {
        identitiesOf: () => Promise.resolve([]),
        knownIdentitiesOf: () => [],
        usersOf: () => Promise.resolve(new Map()),
      },
      rooms: { peek: () => view(membership, power), roomIds: () => ['!r:a.example'] },
      audit: { record: vi.fn() },
      log,
      policy: { localServer: 'a.example', fullAccessServers: ['a.example'], remoteUsers: 'publish' },
    });
    return { r, livekit };
  };
  const participant = (canPublish: boolean) => ({ identity: 'bob-id', permission: { canPublish } }) as never;

  it('a demoted member reconnecting with its old token loses publishing again at once', async () => {
    const { r, livekit } = revoker('join', 0);
    expect(await r.admit('!r:a.example', participant(true), '@bob:b.example')).toBe('admitted');
    expect(livekit.updateParticipant).toHaveBeenCalledWith(
      expect.any(String),
      'bob-id',
      expect.objectContaining({ permission: expect.objectContaining({ canPublish: false }) as unknown }),
    );
  });

  it('a banned member reconnecting, or an identity we never granted, is removed at once', async () => {
    const banned = revoker('ban', 50);
    expect(await banned.r.admit('!r:a.example', participant(true), '@bob:b.example')).toBe('removed');
    const unknown = revoker('join', 50);
    expect(await unknown.r.admit('!r:a.example', participant(true), undefined)).toBe('removed');
    expect(unknown.livekit.removeParticipant).toHaveBeenCalledWith(expect.any(String), 'bob-id');
  });

  it('a member in good standing is left as it is', async () => {
    const { r, livekit } = revoker('join', 50);
    expect(await r.admit('!r:a.example', participant(true), '@bob:b.example')).toBe('admitted');
    expect(livekit.updateParticipant).not.toHaveBeenCalled();
    expect(livekit.removeParticipant).not.toHaveBeenCalled();
  });
});

describe('the bot removed from a room with a running call', () => {
  it('closes the call’s LiveKit room and records the call as ended', async () => {
    const db = await openDatabase({ dataDir: 'memory://' });
    try {
      await migrate(db);
      const calls = new CallStore(db);
      await calls.start('!kicked:a.example', 'LK-kicked', '@alice:a.example', '$start-kicked');
      const deleteRoom = vi.fn(() => Promise.resolve());
      const lc = new CallLifecycle({
        botUserId: '@causerie:a.example',
        homeserver: { sendEvent: vi.fn(), sendState: vi.fn() },
        rooms: { peek: () => undefined, roomIds: () => [] },
        calls,
        livekitRooms: { ensure: vi.fn(), forget: vi.fn() },
        livekit: { deleteRoom, removeParticipant: vi.fn(), listRooms: vi.fn(), listParticipants: vi.fn() },
        identities: { usersOf: () => Promise.resolve(new Map()) },
        revoker: { admit: vi.fn() },
        fullAccessServers: ['a.example'],
        serverListed: isServerNameListed,
        audit: { record: vi.fn() },
        log,
        delayedLeaves: { joined: vi.fn(), left: vi.fn() },
        publicUrl: 'http://x',
        moderatorPowerLevel: 50,
        staleGraceMs: 1_000,
        remoteEndGraceMs: 30_000,
      });
      await lc.onBotRemoved('!kicked:a.example');
      expect(deleteRoom).toHaveBeenCalledWith('LK-kicked');
      expect(await calls.running('!kicked:a.example')).toBeUndefined();
    } finally {
      await db.close();
    }
  }, 60_000);
});

/**
 * Faults of the real processes around a running call: LiveKit killed (-9), PostgreSQL restarted,
 * Synapse A frozen for 30 s, the service killed (-9) in the middle of a webhook. After each, no call
 * state, MatrixRTC membership or audit row is lost, nobody was removed for a failure to ask, and a
 * ban made during or after the fault is applied.
 */
import { dispose, Room } from '@livekit/rtc-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { livekitRoomAlias } from '../../core/livekit-names.ts';
import { up } from '../../scripts/stack/index.ts';
import { pausePostgres, resumePostgres } from '../../scripts/stack/postgres.ts';
import { isAlive, runningPid } from '../../scripts/stack/processes.ts';
import {
  botNotice,
  callMembership,
  connectToCall,
  livekitApi,
  roomWithPartner,
  say,
  sfuGet,
} from '../../scripts/stack/clients/calls.ts';
import { restartWithFault, signalPart } from '../harness/faults.ts';
import {
  asUser,
  eventually,
  inviteAndJoin,
  registerUser,
  waitForMembership,
  type TestUser,
} from '../../scripts/stack/clients/matrix.ts';
import { stackEnv, stackFetch } from '../../scripts/stack/clients/env.ts';

const enc = encodeURIComponent;
const connected: Room[] = [];
let db: pg.Client | undefined;

/** A fresh client each time: PostgreSQL itself is restarted by one of these tests. */
async function query<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
  if (db === undefined) {
    db = new pg.Client({ connectionString: stackEnv().postgres.url });
    db.on('error', () => {
      db = undefined;
    });
    await db.connect();
  }
  try {
    return (await db.query<R>(sql, params)).rows;
  } catch (err) {
    await db.end().catch(() => undefined);
    db = undefined;
    throw err;
  }
}

beforeAll(async () => {
  await up();
});

afterAll(async () => {
  for (const r of connected) await r.disconnect().catch(() => undefined);
  await dispose();
  await db?.end().catch(() => undefined);
  await up(); // leave every part running for whatever comes next
});

interface Call {
  alice: TestUser;
  bob: TestUser;
  carol: TestUser;
  roomId: string;
  alias: string;
  callId: string;
}

/** A running call: Alice (A) started it and wrote her MatrixRTC membership; Alice, Bob (B), Carol (A) connected. */
async function runningCall(): Promise<Call> {
  const { alice, bob, roomId } = await roomWithPartner();
  const carol = await registerUser('a');
  await inviteAndJoin(alice, roomId, carol);
  await waitForMembership(alice, roomId, carol.userId, 'join');
  await say(alice, roomId, '!call');
  await botNotice(bob, roomId, /Call started by/);
  const m = callMembership(alice, roomId);
  await asUser(alice, 'PUT', m.path, m.content);
  for (const u of [alice, bob, carol]) await connectToCall(u, roomId, connected);
  const alias = livekitRoomAlias(roomId);
  const [call] = await eventually('the call row', async () => {
    const rows = await query<{ call_id: string }>('SELECT call_id FROM calls WHERE room_id = $1 AND ended_at IS NULL', [
      roomId,
    ]);
    return rows.length === 1 ? rows : undefined;
  });
  return { alice, bob, carol, roomId, alias, callId: call?.call_id ?? '' };
}

const identities = async (alias: string): Promise<string[]> =>
  (await livekitApi().listParticipants(alias)).map((p) => p.identity);

const identityOf = (u: TestUser): string => `${u.userId}:${u.deviceId}`;

/** What must not have been lost or wrongly done in a call after a fault. */
async function callIntact(c: Call, opts: { removedOnly: TestUser[] }): Promise<void> {
  const calls = await query<{ call_id: string; ended_at: Date | null }>(
    'SELECT call_id, ended_at FROM calls WHERE room_id = $1',
    [c.roomId],
  );
  expect(calls).toEqual([{ call_id: c.callId, ended_at: null }]);
  // Alice's MatrixRTC membership is still in the room, and in our copy.
  const state = await asUser<Record<string, unknown>>(c.alice, 'GET', callMembership(c.alice, c.roomId).path);
  expect(state['device_id']).toBe(c.alice.deviceId);
  const rtc = await query('SELECT 1 FROM rtc_memberships WHERE room_id = $1 AND user_id = $2', [
    c.roomId,
    c.alice.userId,
  ]);
  expect(rtc).toHaveLength(1);
  // Nobody was removed, nor any membership or delayed leave acted on, except for the bans made.
  const removed = await query<{ user_id: string | null; action: string }>(
    `SELECT user_id, action FROM audit_log WHERE room_id = $1
     AND action IN ('participant_removed', 'stale_membership_removed', 'delayed_leave_sent')`,
    [c.roomId],
  );
  const allowed = new Set(opts.removedOnly.map((u) => u.userId));
  expect(removed.filter((r) => r.user_id === null || !allowed.has(r.user_id))).toEqual([]);
  // The audit trail of the call's start is still there.
  const started = await query("SELECT 1 FROM audit_log WHERE room_id = $1 AND action = 'call_started'", [c.roomId]);
  expect(started).toHaveLength(1);
}

/** A ban is applied: the banned user is refused a token, and removed if connected. */
async function banApplied(c: Call, banned: TestUser, connectedNow: boolean): Promise<void> {
  if (connectedNow) {
    await eventually(
      `${banned.userId} out of LiveKit`,
      async () => ((await identities(c.alias)).includes(identityOf(banned)) ? undefined : true),
      10_000,
    );
  }
  await eventually(
    'the ban refused a token',
    async () => ((await sfuGet(banned, c.roomId)).status === 403 ? true : undefined),
    15_000,
  );
  await eventually(
    'the ban in our copy of the room',
    async () => {
      const rows = await query<{ membership: string }>(
        'SELECT membership FROM room_members WHERE room_id = $1 AND user_id = $2',
        [c.roomId, banned.userId],
      );
      return rows[0]?.membership === 'ban' ? true : undefined;
    },
    15_000,
  );
}

const ban = (c: Call, who: TestUser): Promise<unknown> =>
  asUser(c.alice, 'POST', `/_matrix/client/v3/rooms/${enc(c.roomId)}/ban`, {
    user_id: who.userId,
    reason: 'fault test',
  });

/**
 * /readyz names what does not answer (503), while /healthz says the process is alive (200): an
 * orchestrator restarts nothing for an outage that is not ours.
 */
async function readiness(down: Record<string, false>): Promise<void> {
  await eventually(
    `/readyz naming ${Object.keys(down).join(', ')}`,
    async () => {
      const res = await stackFetch(`${stackEnv().service.url}/readyz`);
      const body = (await res.json()) as { checks?: Record<string, boolean> };
      return res.status === 503 && Object.entries(down).every(([k, v]) => body.checks?.[k] === v) ? true : undefined;
    },
    10_000,
  );
  expect((await stackFetch(`${stackEnv().service.url}/healthz`)).status).toBe(200);
}

describe('faults of the real processes during a call', () => {
  it('kill -9 LiveKit mid-call: nobody is removed for it, the call is recreated when LiveKit is back, and a ban made meanwhile is applied', async () => {
    const c = await runningCall();
    signalPart('livekit', 'SIGKILL');
    await eventually(
      'LiveKit dead',
      () =>
        Promise.resolve(runningPid('livekit') === undefined || !isAlive(runningPid('livekit') ?? 0) ? true : undefined),
      10_000,
    );
    // During the outage: a ban (its removal cannot reach LiveKit), and several reconciliation rounds.
    await ban(c, c.carol);
    await eventually(
      'the held ban in our copy even so',
      async () => {
        const rows = await query<{ membership: string }>(
          'SELECT membership FROM room_members WHERE room_id = $1 AND user_id = $2',
          [c.roomId, c.carol.userId],
        );
        return rows[0]?.membership === 'ban' ? true : undefined;
      },
      15_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 5_000)); // reconciliation rounds against a dead LiveKit
    await callIntact(c, { removedOnly: [c.carol] });
    await readiness({ livekit: false });

    await up(); // LiveKit starts again, with no rooms
    await eventually(
      'the call’s LiveKit room recreated',
      async () => ((await livekitApi().listRooms([c.alias])).length === 1 ? true : undefined),
      20_000,
    );
    await callIntact(c, { removedOnly: [c.carol] });
    // Bob reconnects with a new token; Carol cannot.
    await connectToCall(c.bob, c.roomId, connected);
    await banApplied(c, c.carol, false);
    await ban(c, c.bob);
    await banApplied(c, c.bob, true);
  });

  it('PostgreSQL restarted mid-call: tokens fail closed meanwhile, a ban made meanwhile is applied and stored when it returns, no audit row is lost', async () => {
    const c = await runningCall();
    pausePostgres();
    try {
      await eventually(
        'tokens refused while the database is down',
        async () => ((await sfuGet(c.bob, c.roomId)).status === 503 ? true : undefined),
        15_000,
      );
      // The homeserver delivers transactions in order and the one in flight is held while the
      // database is away: the ban is applied when it returns (no token is granted meanwhile).
      await ban(c, c.carol);
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect((await sfuGet(c.carol, c.roomId)).status).toBe(503);
      await readiness({ database: false });
    } finally {
      resumePostgres();
    }
    await eventually(
      'Carol out of LiveKit once the database is back',
      async () => ((await identities(c.alias)).includes(identityOf(c.carol)) ? undefined : true),
      40_000,
    );
    await banApplied(c, c.carol, false);
    await eventually(
      'the removal in the audit log',
      async () => {
        const rows = await query<{ detail: { reason: string } }>(
          "SELECT detail FROM audit_log WHERE room_id = $1 AND action = 'participant_removed' AND user_id = $2",
          [c.roomId, c.carol.userId],
        );
        return rows.some((r) => r.detail.reason === 'banned') ? true : undefined;
      },
      30_000,
    );
    await eventually(
      'tokens again',
      async () => ((await sfuGet(c.bob, c.roomId)).status === 200 ? true : undefined),
      15_000,
    );
    await callIntact(c, { removedOnly: [c.carol] });
    expect(await identities(c.alias)).toEqual(expect.arrayContaining([identityOf(c.alice), identityOf(c.bob)]));
    await ban(c, c.bob);
    await banApplied(c, c.bob, true);
  });

  it('Synapse A frozen for 30 s: nobody is removed meanwhile, and a ban made after it thaws is applied', async () => {
    const c = await runningCall();
    signalPart('synapse-a', 'SIGSTOP');
    try {
      await new Promise((resolve) => setTimeout(resolve, 30_000));
      await readiness({ homeserver: false });
      expect(await identities(c.alias)).toEqual(
        expect.arrayContaining([identityOf(c.alice), identityOf(c.bob), identityOf(c.carol)]),
      );
    } finally {
      signalPart('synapse-a', 'SIGCONT');
    }
    await callIntact(c, { removedOnly: [] });
    await ban(c, c.bob);
    await banApplied(c, c.bob, true);
    await callIntact(c, { removedOnly: [c.bob] });
  });

  it('kill -9 of the service in the middle of a webhook: the participant is counted when it is back, and a ban after is applied', async () => {
    const c = await runningCall();
    const dave = await registerUser('a');
    await inviteAndJoin(c.alice, c.roomId, dave);
    await waitForMembership(c.alice, c.roomId, dave.userId, 'join');
    const answer = await eventually('a token for Dave', async () => {
      const a = await sfuGet(dave, c.roomId);
      return a.status === 200 ? a : undefined;
    });
    const faulty = await restartWithFault('webhook_participant_joined');
    const room = new Room();
    connected.push(room);
    await room.connect(answer.body['url'] as string, answer.body['jwt'] as string, {
      autoSubscribe: false,
      dynacast: false,
    });
    await eventually(
      'the service to die mid-webhook',
      () => Promise.resolve(isAlive(faulty) ? undefined : true),
      20_000,
    );
    await up();
    await eventually(
      'Dave counted in the call',
      async () => {
        const rows = await query(
          'SELECT 1 FROM call_participants WHERE call_id = $1 AND identity = $2 AND left_at IS NULL',
          [c.callId, identityOf(dave)],
        );
        return rows.length === 1 ? true : undefined;
      },
      20_000,
    );
    await callIntact(c, { removedOnly: [] });
    await ban(c, dave);
    await banApplied(c, dave, true);
  });
});

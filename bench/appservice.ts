/**
 * Appservice benchmarks against the real stack:
 * - throughput: transactions of synthetic member and MatrixRTC events replayed through the real
 *   transaction endpoint (hs_token, persistence, revocation checks) of a separate Causerie process;
 * - memory: that process's RSS with 1000 members and 1000 MatrixRTC memberships in one call room;
 * - revocation: partners connected to LiveKit are banned through Synapse; time from the event
 *   reaching the appservice to LiveKit removal (from the audit log), and from the ban request to the
 *   participant being gone (end to end, through federation-free local bans).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { Room } from '@livekit/rtc-node';
import { RoomServiceClient } from 'livekit-server-sdk';
import pg from 'pg';

import { readRegistration } from '../config/registration.ts';
import { livekitRoomAlias } from '../core/livekit-names.ts';
import { up } from '../scripts/stack/index.ts';
import { stateDir } from '../scripts/stack/layout.ts';
import { callRoom, sfuGet } from '../scripts/stack/clients/calls.ts';
import { asUser, eventually, inviteAndJoin, registerUser, waitForMembership } from '../scripts/stack/clients/matrix.ts';
import { percentile } from './load.ts';
import { startBenchService } from './service.ts';

const BENCH_PORT = 8478;
const enc = encodeURIComponent;

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 'NaN');
  return kb / 1024;
}

const stats = (label: string, xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `${label}: n=${s.length} p50 ${percentile(s, 50).toFixed(0)} ms, p90 ${percentile(s, 90).toFixed(0)} ms, max ${(s.at(-1) ?? NaN).toFixed(0)} ms`;
};

async function throughputAndMemory(): Promise<void> {
  // A real room with the bot in it, so the bench instance knows it from the database.
  const alice = await registerUser('a');
  const roomId = await callRoom(alice);
  const db = new pg.Client({ connectionString: (await up()).env.postgres.url });
  await db.connect();
  await eventually('the room in the database', async () =>
    (await db.query('SELECT 1 FROM rooms WHERE room_id = $1', [roomId])).rows.length > 0 ? true : undefined,
  );
  await db.end();

  const service = await startBenchService('bench-appservice', BENCH_PORT);
  const { pid, origin } = service;
  try {
    const rssStart = rssMb(pid);
    const { hs_token } = readRegistration(join(stateDir, 'registration.yaml'));
    let seq = 0;
    const put = async (events: unknown[]): Promise<void> => {
      const res = await fetch(`${origin}/_matrix/app/v1/transactions/bench-${Date.now()}-${seq++}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${hs_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events }),
      });
      if (!res.ok) throw new Error(`transaction refused: ${res.status}`);
    };
    const member = (i: number, membership: string) => ({
      type: 'm.room.member',
      state_key: `@bench${i}:localhost:8482`,
      sender: `@bench${i}:localhost:8482`,
      room_id: roomId,
      event_id: `$m${seq}-${i}-${membership}`,
      origin_server_ts: Date.now(),
      content: { membership, displayname: `Bench ${i}` },
    });
    const callMember = (i: number) => ({
      type: 'org.matrix.msc3401.call.member',
      state_key: `_@bench${i}:localhost:8482_DEV${i}_m.call`,
      sender: `@bench${i}:localhost:8482`,
      room_id: roomId,
      event_id: `$c${seq}-${i}`,
      origin_server_ts: Date.now(),
      content: {
        application: 'm.call',
        call_id: '',
        scope: 'm.room',
        device_id: `DEV${i}`,
        expires: 14_400_000,
        focus_active: { type: 'livekit', focus_selection: 'multi_sfu' },
        foci_preferred: [{ type: 'livekit', livekit_service_url: 'http://127.0.0.1:8480', livekit_alias: roomId }],
      },
    });

    // 1000 members join and announce their call membership: 2000 events, 100 per transaction.
    const members = 1000;
    const t0 = performance.now();
    for (let i = 0; i < members; i += 50) {
      const batch: unknown[] = [];
      for (let j = i; j < i + 50; j++) batch.push(member(j, 'join'), callMember(j));
      await put(batch);
    }
    const joinSeconds = (performance.now() - t0) / 1000;
    console.log(
      `appservice: ${members * 2} events (member joins + MatrixRTC memberships) in ${joinSeconds.toFixed(2)} s = ${Math.round((members * 2) / joinSeconds)} events/s (100 per transaction, sequential)`,
    );
    console.log(
      `appservice: RSS ${rssStart.toFixed(0)} MB at start, ${rssMb(pid).toFixed(0)} MB with ${members} members and ${members} MatrixRTC memberships in one call room`,
    );

    // Churn: the same members leave and rejoin (each leave checks LiveKit for their identities).
    const t1 = performance.now();
    let churn = 0;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < members; i += 100) {
        const batch: unknown[] = [];
        for (let j = i; j < i + 100; j++) batch.push(member(j, round === 0 ? 'leave' : 'join'));
        await put(batch);
        churn += batch.length;
      }
    }
    const churnSeconds = (performance.now() - t1) / 1000;
    console.log(
      `appservice: ${churn} leave/join events in ${churnSeconds.toFixed(2)} s = ${Math.round(churn / churnSeconds)} events/s (each leave looks up the caller's LiveKit identities)`,
    );
    console.log(`appservice: RSS ${rssMb(pid).toFixed(0)} MB after churn`);
  } finally {
    await service.stop();
  }
}

async function revocationLatency(rounds: number): Promise<void> {
  const env = (await up()).env;
  const rooms = new RoomServiceClient(
    env.livekit.url.replace(/^ws/, 'http'),
    env.livekit.api_key,
    env.livekit.api_secret,
  );
  const db = new pg.Client({ connectionString: env.postgres.url });
  await db.connect();
  const endToEnd: number[] = [];
  const inService: number[] = [];
  const alice = await registerUser('a');
  const roomId = await callRoom(alice);
  const first = await sfuGet(alice, roomId);
  if (first.status !== 200) throw new Error('alice could not start the call');
  const connections: Room[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const bob = await registerUser('b');
      await inviteAndJoin(alice, roomId, bob);
      await waitForMembership(alice, roomId, bob.userId, 'join');
      const answer = await eventually('a token', async () => {
        const a = await sfuGet(bob, roomId);
        return a.status === 200 ? a : undefined;
      });
      const room = new Room();
      await room.connect(answer.body['url'] as string, answer.body['jwt'] as string, {
        autoSubscribe: false,
        dynacast: false,
      });
      connections.push(room);
      const identity = `${bob.userId}:${bob.deviceId}`;
      const t0 = performance.now();
      await asUser(alice, 'POST', `/_matrix/client/v3/rooms/${enc(roomId)}/ban`, { user_id: bob.userId });
      await eventually(
        'removal',
        async () =>
          (await rooms.listParticipants(livekitRoomAlias(roomId))).some((p) => p.identity === identity)
            ? undefined
            : true,
        10_000,
      );
      endToEnd.push(performance.now() - t0);
      const row = await eventually('the audit row', async () => {
        const r = await db.query<{ detail: { latency_ms: number } }>(
          "SELECT detail FROM audit_log WHERE action = 'participant_removed' AND room_id = $1 AND user_id = $2",
          [roomId, bob.userId],
        );
        return r.rows[0];
      });
      inService.push(row.detail.latency_ms);
    }
  } finally {
    for (const r of connections) await r.disconnect().catch(() => undefined);
    await db.end();
  }
  console.log(stats('revocation, ban event reaching the appservice → removed from LiveKit', inService));
  console.log(stats('revocation, ban request to Synapse → participant gone from LiveKit (end to end)', endToEnd));
}

export async function appserviceBench(): Promise<void> {
  await up();
  await throughputAndMemory();
  await revocationLatency(10);
}

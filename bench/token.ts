/**
 * Benchmark of the token service: /get_token throughput and latency against the real stack, with a
 * cached OpenID verification (the steady state: a client re-joining, Element Call's second call) and
 * with a cold one (every request verified over federation against Synapse B). A separate Causerie
 * process serves, with the rate limit raised; membership is checked on every request.
 */

import { up } from '../scripts/stack/index.ts';
import { callRoom, openIdToken } from '../scripts/stack/clients/calls.ts';
import { inviteAndJoin, registerUser, waitForMembership } from '../scripts/stack/clients/matrix.ts';
import { runLoad, summarize } from './load.ts';
import { startBenchService } from './service.ts';

const BENCH_PORT = 8479;

export async function tokenBench(): Promise<void> {
  const { env } = await up();
  const service = await startBenchService('bench-service', BENCH_PORT, {
    rate_limit: { per_second: 1_000_000, burst: 1_000_000 },
  });
  const { origin } = service;
  try {
    const alice = await registerUser('a');
    const bob = await registerUser('b');
    const roomId = await callRoom(alice);
    await inviteAndJoin(alice, roomId, bob);
    await waitForMembership(alice, roomId, bob.userId, 'join');

    const body = async (user: typeof bob, member: string): Promise<string> =>
      JSON.stringify({
        room_id: roomId,
        slot_id: 'm.call#ROOM',
        openid_token: await openIdToken(user),
        member: { id: member, claimed_user_id: user.userId, claimed_device_id: user.deviceId },
      });

    // The call must exist before a partner joins it: Alice (full access) starts it.
    const start = await runLoad({ origin, path: '/get_token', concurrency: 1, bodies: [await body(alice, 'alice')] });
    if (start.errors > 0) throw new Error(`could not start the call: ${JSON.stringify(start.statuses)}`);

    const cachedBody = await body(bob, 'bob');
    await runLoad({ origin, path: '/get_token', concurrency: 8, durationMs: 2_000, body: cachedBody }); // warm-up
    for (const concurrency of [1, 4, 16]) {
      const cached = await runLoad({ origin, path: '/get_token', concurrency, durationMs: 8_000, body: cachedBody });
      console.log(summarize(`get_token, cached OpenID verification, partner on B (c=${concurrency}, 8 s)`, cached));
    }

    const coldCount = 400;
    const coldBodies: string[] = [];
    for (let i = 0; i < coldCount; i++) coldBodies.push(await body(bob, `bob-${i}`));
    const cold = await runLoad({ origin, path: '/get_token', concurrency: 8, bodies: coldBodies });
    console.log(
      summarize(
        `get_token, cold OpenID verification over federation to Synapse B (c=8, ${coldCount} distinct tokens)`,
        cold,
      ),
    );
    console.log(`stack: ${env.homeservers.map((h) => h.server_name).join(', ')}; LiveKit ${env.livekit.url}`);
  } finally {
    await service.stop();
  }
}

/**
 * A server name whose DNS never answers must cost its own requests a bounded wait and nobody else
 * anything. A second Causerie instance runs in this process with the stack's config, its DNS
 * pointed at a UDP socket that swallows every query; while requests naming black-holed servers
 * are in flight, a real partner on B gets his token from the same instance.
 */
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../config/load.ts';
import { readRegistration } from '../../config/registration.ts';
import type { Config } from '../../config/schema.ts';
import { stateDir } from '../../scripts/stack/layout.ts';
import { createLogger } from '../../core/log.ts';
import { startService, type RunningService } from '../../service/start.ts';
import { callRoom, openIdToken } from '../../scripts/stack/clients/calls.ts';
import {
  eventually,
  inviteAndJoin,
  registerUser,
  waitForMembership,
  type TestUser,
} from '../../scripts/stack/clients/matrix.ts';
import { stackEnv, stackFetch } from '../../scripts/stack/clients/env.ts';

const DNS_TIMEOUT_MS = 1_500;
const BLACKHOLED_IN_FLIGHT = 20;
const SAMPLES = 10;

/** The question of a DNS query packet (header, then QNAME labels, then QTYPE). */
function question(packet: Buffer): { name: string; type: number } | undefined {
  const labels: string[] = [];
  for (let at = 12; at < packet.length;) {
    const length = packet[at] ?? 0;
    if (length === 0) return { name: labels.join('.').toLowerCase(), type: packet.readUInt16BE(at + 1) };
    labels.push(packet.subarray(at + 1, at + 1 + length).toString('latin1'));
    at += 1 + length;
  }
  return undefined;
}

/** A DNS server that receives every query and answers none. */
class BlackHole {
  readonly queries: { name: string; type: number }[] = [];
  private constructor(private readonly socket: Socket) {
    socket.on('message', (packet) => {
      const q = question(packet);
      if (q !== undefined) this.queries.push(q);
    });
  }

  static async open(): Promise<BlackHole> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', resolve);
    });
    return new BlackHole(socket);
  }

  get address(): string {
    return `127.0.0.1:${this.socket.address().port}`;
  }

  namesAsked(): Set<string> {
    return new Set(this.queries.map((q) => q.name));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.close(resolve);
    });
  }
}

interface Answer {
  status: number;
  errcode: unknown;
  ms: number;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
};

const round = (ms: number): number => Math.round(ms);

let blackHole: BlackHole;
let service: RunningService;
const logLines: string[] = [];
let alice: TestUser;
let bob: TestUser;
let roomId: string;
const run = Date.now().toString(36);
/** Names of black-holed servers, each with a member in the room (enough for the whole test). */
const blackholedNames = Array.from({ length: 600 }, (_, i) => `blackhole-${i}-${run}.example`);

async function sfuGetFrom(body: Record<string, unknown>): Promise<Answer> {
  const started = performance.now();
  const res = await stackFetch(`${service.url}/sfu/get`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const parsed = (await res.json()) as Record<string, unknown>;
  return { status: res.status, errcode: parsed['errcode'], ms: performance.now() - started };
}

/** One token for `user` on our instance; the OpenID token is fresh and fetched outside the timing. */
async function tokenFor(user: TestUser): Promise<Answer> {
  const openid_token = await openIdToken(user);
  return sfuGetFrom({ room: roomId, openid_token, device_id: user.deviceId });
}

/** Bob's token time over `SAMPLES` sequential requests, each with a fresh OpenID token. */
async function bobTimes(onEach: () => void = () => undefined): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    onEach();
    const answer = await tokenFor(bob);
    expect(answer.status).toBe(200);
    times.push(answer.ms);
  }
  return times;
}

beforeAll(async () => {
  blackHole = await BlackHole.open();
  const base = loadConfig(join(stateDir, 'causerie.yaml'));
  const config: Config = {
    ...base,
    listen: { ...base.listen, port: 0 },
    federation: {
      ...base.federation,
      dns_servers: [blackHole.address],
      dns_timeout_ms: DNS_TIMEOUT_MS,
      // Every token request resolves its server name again, Bob's included: no cached way around.
      discovery_cache_seconds: 0,
    },
    // Every request comes from 127.0.0.1: the limiter must not be what answers.
    rate_limit: { per_second: 10_000, burst: 10_000 },
  };
  service = await startService(
    config,
    // Its log lines are the only place the refusal reason is visible (the wire body is bland).
    { log: createLogger('dns-blackhole', (line) => logLines.push(line)) },
  );

  [alice, bob] = await Promise.all([registerUser('a'), registerUser('b')]);
  roomId = await callRoom(alice);
  await inviteAndJoin(alice, roomId, bob);
  await waitForMembership(alice, roomId, bob.userId, 'join');
  // Alice (full access) starts the call; Bob's first token loads the room into this instance's view.
  await eventually('Alice’s token from the second instance', async () =>
    (await tokenFor(alice)).status === 200 ? true : undefined,
  );
  await eventually('Bob’s token from the second instance', async () =>
    (await tokenFor(bob)).status === 200 ? true : undefined,
  );
  // A server with nobody in the room is refused before any lookup: the black-holed servers each
  // have a member here (joined through this instance's own appservice endpoint, as if the
  // homeserver had told it).
  const hsToken = readRegistration(stackEnv().appservice.registration).hs_token;
  const joins = blackholedNames.map((name, i) => ({
    type: 'm.room.member',
    state_key: `@m:${name}`,
    sender: `@m:${name}`,
    room_id: roomId,
    event_id: `$bh${run}-${i}`,
    origin_server_ts: Date.now(),
    content: { membership: 'join' },
  }));
  const res = await fetch(`${service.url}/_matrix/app/v1/transactions/bh-${run}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${hsToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events: joins }),
  });
  expect(res.status).toBe(200);
});

afterAll(async () => {
  await service.stop();
  await blackHole.close();
});

describe('server-name resolution with a DNS server that never answers', () => {
  it('a black-holed server name does not slow a partner’s token on B, and is answered 504 within its deadline', async () => {
    const unloaded = await bobTimes();

    // Keep BLACKHOLED_IN_FLIGHT requests naming distinct black-holed servers in flight: each one
    // that ends is replaced at once by one with a new name (no discovery or DNS sharing).
    const blackholed: { name: string; answer: Promise<Answer> }[] = [];
    let launching = true;
    let inFlight = 0;
    const launch = (): void => {
      const name = blackholedNames[blackholed.length] ?? `blackhole-overflow-${run}.example`;
      inFlight++;
      const answer = sfuGetFrom({
        room: roomId,
        openid_token: {
          access_token: 'x'.repeat(24),
          token_type: 'Bearer',
          matrix_server_name: name,
          expires_in: 3600,
        },
        device_id: 'BLACKHOLE',
      }).finally(() => {
        inFlight--;
        if (launching) launch();
      });
      blackholed.push({ name, answer });
    };
    for (let i = 0; i < BLACKHOLED_IN_FLIGHT; i++) launch();
    // Only measure once every first request is really waiting on the black hole.
    const firstNames = blackholed.map((b) => b.name);
    await eventually('the black hole to be asked about every black-holed name', () => {
      const asked = blackHole.namesAsked();
      return Promise.resolve(firstNames.every((n) => asked.has(n)) ? true : undefined);
    });

    const inFlightSeen: number[] = [];
    const loaded = await bobTimes(() => inFlightSeen.push(inFlight));
    launching = false;
    const answers = await Promise.all(blackholed.map((b) => b.answer));

    const asked = blackHole.namesAsked();
    const refusals = logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['event'] === 'token_refused');
    const reasonOf = (name: string): unknown => refusals.find((r) => r['server'] === name)?.['reason'];
    const times = answers.map((a) => a.ms);
    const queryTypes = blackHole.queries.reduce<Record<string, number>>((acc, q) => {
      const type = { 1: 'A', 28: 'AAAA', 33: 'SRV' }[q.type] ?? String(q.type);
      acc[type] = (acc[type] ?? 0) + 1;
      return acc;
    }, {});
    console.log(
      JSON.stringify({
        dns_timeout_ms: DNS_TIMEOUT_MS,
        bob_unloaded_ms: { median: round(median(unloaded)), all: unloaded.map(round) },
        bob_loaded_ms: { median: round(median(loaded)), all: loaded.map(round) },
        blackholed_in_flight_during_bob: { min: Math.min(...inFlightSeen), max: Math.max(...inFlightSeen) },
        blackholed_requests: answers.length,
        blackholed_statuses: answers.reduce<Record<number, number>>((acc, a) => {
          acc[a.status] = (acc[a.status] ?? 0) + 1;
          return acc;
        }, {}),
        blackholed_ms: { min: round(Math.min(...times)), median: round(median(times)), max: round(Math.max(...times)) },
        dns_queries_received: blackHole.queries.length,
        dns_query_types: queryTypes,
      }),
    );

    // The black hole was really asked, about every name, and the load was there all along.
    expect(blackHole.queries.length).toBeGreaterThanOrEqual(answers.length);
    expect(blackholed.filter((b) => !asked.has(b.name)).map((b) => b.name)).toEqual([]);
    expect(Math.min(...inFlightSeen)).toBe(BLACKHOLED_IN_FLIGHT);

    // Each black-holed request: 504 after the deadline (or 503 at once past the cap), never later.
    for (const [i, answer] of answers.entries()) {
      const name = blackholed[i]?.name ?? '';
      if (answer.status === 503) {
        expect({ name, errcode: answer.errcode, reason: reasonOf(name) }).toEqual({
          name,
          errcode: 'M_UNKNOWN',
          reason: 'server_resolution_busy',
        });
      } else {
        expect({ name, status: answer.status, errcode: answer.errcode, reason: reasonOf(name) }).toEqual({
          name,
          status: 504,
          errcode: 'M_UNKNOWN',
          reason: 'server_resolution_timeout',
        });
        expect(answer.ms).toBeGreaterThanOrEqual(DNS_TIMEOUT_MS - 50);
      }
      expect(answer.ms).toBeLessThan(DNS_TIMEOUT_MS + 2_000);
    }

    // Bob is not slowed down (generous bounds: this is a shared two-core machine).
    expect(median(loaded)).toBeLessThan(3 * median(unloaded) + 200);
    expect(median(loaded)).toBeLessThan(1_500);
  });

  it('a server with nobody in the room is refused (403, like any non-member) before any lookup', async () => {
    const name = `nobody-here-${run}.example`;
    const answer = await sfuGetFrom({
      room: roomId,
      openid_token: { access_token: 'x'.repeat(24), token_type: 'Bearer', matrix_server_name: name, expires_in: 3600 },
      device_id: 'NOBODY',
    });
    expect(answer.status).toBe(403);
    expect(blackHole.namesAsked().has(name)).toBe(false);
  });
});

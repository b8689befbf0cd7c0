import { dispose, Room } from '@livekit/rtc-node';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

import { callMembership, roomWithPartner, sfuGet } from '../../scripts/stack/clients/calls.ts';
import { asUser, eventually } from '../../scripts/stack/clients/matrix.ts';
import { stackEnv } from '../../scripts/stack/clients/env.ts';

const enc = encodeURIComponent;
const rooms: Room[] = [];
afterAll(async () => {
  for (const r of rooms) await r.disconnect().catch(() => undefined);
  await dispose();
});

interface Delayed {
  delay_id: string;
  running_since: number;
}

describe('delegated delayed leave (MSC4140, as Element Call hands it over)', () => {
  it('keeps the delayed leave from firing while the partner is in the call, and sends it as soon as they leave', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    const first = await sfuGet(alice, roomId); // Alice starts the call
    expect(first.status).toBe(200);

    const { stateKey, path: statePath, content } = callMembership(bob, roomId);
    await asUser(bob, 'PUT', statePath, content);
    const { delay_id } = await asUser<{ delay_id: string }>(
      bob,
      'PUT',
      `${statePath}?org.matrix.msc4140.delay=8000`,
      {},
    );
    const list = () =>
      asUser<{ delayed_events: Delayed[] }>(bob, 'GET', '/_matrix/client/unstable/org.matrix.msc4140/delayed_events');
    const before = (await list()).delayed_events.find((d) => d.delay_id === delay_id);
    expect(before).toBeDefined();

    // The URL a client claims is ignored: this one would be the cloud metadata service.
    const answer = await sfuGet(bob, roomId, {
      delay_id,
      delay_timeout: 8000,
      delay_cs_api_url: 'http://169.254.169.254',
    });
    expect(answer.status).toBe(200);
    const room = new Room();
    await room.connect(answer.body['url'] as string, answer.body['jwt'] as string, {
      autoSubscribe: false,
      dynacast: false,
    });
    rooms.push(room);

    // Connected: the service restarts the delay (its running_since moves forward).
    await eventually('the delayed leave to be restarted', async () => {
      const now = (await list()).delayed_events.find((d) => d.delay_id === delay_id);
      return now !== undefined && now.running_since > (before?.running_since ?? 0) ? true : undefined;
    });
    // Bob's membership (written on B) reaches A over federation and is still there.
    const onA = await eventually('Bob’s membership on A', async () => {
      try {
        return await asUser<Record<string, unknown>>(alice, 'GET', statePath);
      } catch {
        return undefined;
      }
    });
    expect(Object.keys(onA)).toContain('device_id');

    // The partner leaves LiveKit: the leave is sent by Bob's own homeserver, now.
    await room.disconnect();
    const state = await eventually('the membership to be cleared', async () => {
      const all = await asUser<{ type: string; state_key: string; sender: string; content: Record<string, unknown> }[]>(
        alice,
        'GET',
        `/_matrix/client/v3/rooms/${enc(roomId)}/state`,
      );
      const ev = all.find((e) => e.type === 'org.matrix.msc3401.call.member' && e.state_key === stateKey);
      return ev !== undefined && Object.keys(ev.content).length === 0 ? ev : undefined;
    });
    expect(state.sender).toBe(bob.userId);
    expect((await list()).delayed_events.find((d) => d.delay_id === delay_id)).toBeUndefined();

    const db = new pg.Client({ connectionString: stackEnv().postgres.url });
    await db.connect();
    try {
      const rows = await eventually('the audit row', async () => {
        const r = await db.query(
          "SELECT 1 FROM audit_log WHERE action = 'delayed_leave_sent' AND room_id = $1 AND user_id = $2",
          [roomId, bob.userId],
        );
        return r.rows.length > 0 ? r.rows : undefined;
      });
      expect(rows).toHaveLength(1);
    } finally {
      await db.end();
    }
  });
});

/**
 * The service is killed (SIGKILL) in the middle of a transaction — after recording a call, before
 * announcing it — and restarted: the homeserver re-sends the transaction, and the call ends up
 * started exactly once, announced exactly once, with nothing lost.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';

import { up } from '../../scripts/stack/index.ts';
import { isAlive } from '../../scripts/stack/processes.ts';
import { botMessages, botNotice, roomWithPartner, say } from '../../scripts/stack/clients/calls.ts';
import { asUser, eventually } from '../../scripts/stack/clients/matrix.ts';
import { restartWithFault, whileRetryingHeld } from '../harness/faults.ts';
import { stackEnv } from '../../scripts/stack/clients/env.ts';

const enc = encodeURIComponent;

describe('crash in the middle of a transaction', () => {
  it('after kill -9 and restart, the re-sent transaction is processed and the call is neither lost nor duplicated', async () => {
    const { alice, bob, roomId } = await roomWithPartner();

    const faulty = await restartWithFault('call_recorded_before_announce');

    await say(alice, roomId, '!call');
    await eventually(
      'the service to die mid-transaction',
      () => Promise.resolve(isAlive(faulty) ? undefined : true),
      20_000,
    );

    const db = new pg.Client({ connectionString: stackEnv().postgres.url });
    await db.connect();
    try {
      const recorded = await db.query('SELECT call_id FROM calls WHERE room_id = $1', [roomId]);
      expect(recorded.rows).toHaveLength(1); // recorded, not yet announced

      await up(); // restarts the service normally
      await whileRetryingHeld(() => botNotice(bob, roomId, /Call started by/));
      const widget = await asUser<{ name: string }>(
        bob,
        'GET',
        `/_matrix/client/v3/rooms/${enc(roomId)}/state/im.vector.modular.widgets/causerie_call`,
      );
      expect(widget.name).toBe('Causerie');
      const calls = await db.query<{ ended_at: Date | null }>('SELECT ended_at FROM calls WHERE room_id = $1', [
        roomId,
      ]);
      expect(calls.rows).toEqual([{ ended_at: null }]);

      // Exactly one announcement, and no "already running" reply to the re-sent command.
      const fromBot = await botMessages(alice, roomId);
      expect(fromBot.filter((b) => b.includes('Call started by'))).toHaveLength(1);
      expect(fromBot.filter((b) => b.includes('has been running since'))).toHaveLength(0);
    } finally {
      await db.end();
    }
  });

  it('a crash between ending a call and posting its summary still gets the summary posted, once', async () => {
    const { alice, bob, roomId } = await roomWithPartner();
    await say(alice, roomId, '!call');
    await botNotice(bob, roomId, /Call started by/);

    const faulty = await restartWithFault('call_ended_before_summary');
    await say(alice, roomId, '!call end');
    await eventually(
      'the service to die between end and summary',
      () => Promise.resolve(isAlive(faulty) ? undefined : true),
      20_000,
    );

    await up();
    await whileRetryingHeld(() => botNotice(bob, roomId, /Call ended/));
    const fromBot = await botMessages(alice, roomId);
    expect(fromBot.filter((b) => b.includes('Call ended'))).toHaveLength(1);
    expect(fromBot.filter((b) => b.includes('No call is running'))).toHaveLength(0);
  });
});

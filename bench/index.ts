/**
 * `npm run bench [-- token|appservice|join [clear|encrypted|two-sfu]|call-cost]`: runs the benchmarks
 * against the real local stack and prints figures (join: both room kinds unless one is named;
 * `two-sfu`: clear room, homeserver B publishing on its own SFU; call-cost: what one tab in a call of
 * 8 publishers costs, Causerie beside Element Call). All of them when none is named.
 */
import { dispose } from '@livekit/rtc-node';

import { appserviceBench } from './appservice.ts';
import { callCostBench } from './call-cost.ts';
import { joinBench } from './join.ts';
import { tokenBench } from './token.ts';

const which = process.argv[2];
try {
  if (which === undefined || which === 'token') await tokenBench();
  if (which === undefined || which === 'appservice') await appserviceBench();
  const rooms = process.argv[3];
  if (which === undefined || which === 'join') {
    if (rooms === 'two-sfu') {
      // Homeserver B names its own SFU: B's clients publish there (the stack restarts Synapse B).
      process.env['CAUSERIE_STACK_SFU'] = 'two';
      try {
        await joinBench(5, [false], 'two SFUs');
      } finally {
        delete process.env['CAUSERIE_STACK_SFU'];
      }
    } else await joinBench(5, rooms === 'clear' ? [false] : rooms === 'encrypted' ? [true] : [false, true]);
  }
  if (which === undefined || which === 'call-cost') await callCostBench();
} finally {
  // Once, at the very end: after dispose() rtc-node cannot connect a room again (it hangs).
  await dispose();
}

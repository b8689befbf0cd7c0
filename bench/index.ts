/**
 * `npm run bench [-- token|appservice|join [clear|encrypted]]`: runs the benchmarks against the real
 * local stack and prints figures (join: both room kinds unless one is named).
 */
import { appserviceBench } from './appservice.ts';
import { joinBench } from './join.ts';
import { tokenBench } from './token.ts';

const which = process.argv[2];
if (which === undefined || which === 'token') await tokenBench();
if (which === undefined || which === 'appservice') await appserviceBench();
const rooms = process.argv[3];
if (which === undefined || which === 'join')
  await joinBench(5, rooms === 'clear' ? [false] : rooms === 'encrypted' ? [true] : [false, true]);

/**
 * `npm run bench [-- token|appservice|join]`: runs the benchmarks against the real local stack and
 * prints figures.
 */
import { appserviceBench } from './appservice.ts';
import { joinBench } from './join.ts';
import { tokenBench } from './token.ts';

const which = process.argv[2];
if (which === undefined || which === 'token') await tokenBench();
if (which === undefined || which === 'appservice') await appserviceBench();
if (which === undefined || which === 'join') await joinBench();

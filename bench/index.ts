/**
 * `npm run bench [-- token|appservice]`: runs the benchmarks against the real local stack and
 * prints figures.
 */
import { appserviceBench } from './appservice.ts';
import { tokenBench } from './token.ts';

const which = process.argv[2];
if (which === undefined || which === 'token') await tokenBench();
if (which === undefined || which === 'appservice') await appserviceBench();

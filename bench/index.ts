/**
 * `npm run bench`: runs the benchmarks against the real local stack and prints figures.
 */
import { tokenBench } from './token.ts';

await tokenBench();

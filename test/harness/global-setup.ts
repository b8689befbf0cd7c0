/**
 * vitest globalSetup: brings the real local stack up once per run (reusing parts that already
 * run) and, at the end, stops only the parts this run started. A part that cannot start fails the
 * whole run with its name and log; nothing is skipped. Element Call, the reference client for
 * interop, is served on its own origin for the run.
 */
import { serveElementCall } from '../../scripts/stack/element-call.ts';
import { down, readStackEnv, up } from '../../scripts/stack/index.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const { started } = await up();
  const elementCall = await serveElementCall(readStackEnv().service.url);
  return async () => {
    await elementCall.close();
    if (started.length > 0 && process.env['CAUSERIE_KEEP_STACK'] !== '1') await down(started);
  };
}

/**
 * Faults injected into the real stack's processes for the disruptive tests: the service restarted
 * with a crash point, held transactions re-sent at once, LiveKit killed, PostgreSQL stopped and
 * started with its data, a homeserver frozen (SIGSTOP) and thawed.
 */
import { readRegistration } from '../../config/registration.ts';
import { serviceHealthy, startServiceProcess } from '../../scripts/stack/index.ts';
import { runningPid, stopGroup, waitHealthy } from '../../scripts/stack/processes.ts';
import { homeserver, stackEnv, stackFetch } from '../../scripts/stack/clients/env.ts';

/** Replaces the stack's service by one that kills itself (SIGKILL) at the given fault point. */
export async function restartWithFault(point: string): Promise<number> {
  const running = runningPid('service');
  if (running !== undefined) await stopGroup('service', running);
  const pid = startServiceProcess({ CAUSERIE_FAULT_KILL_AT: point });
  await waitHealthy({ part: 'service', pid, timeoutMs: 30_000, check: serviceHealthy });
  return pid;
}

/** Asks Synapse A to re-send the transaction it holds now rather than after its backoff. */
export async function retryHeldTransactions(): Promise<void> {
  const { as_token } = readRegistration(stackEnv().appservice.registration);
  await stackFetch(`${homeserver('a').url}/_matrix/client/v1/appservice/causerie/ping`, {
    method: 'POST',
    headers: { authorization: `Bearer ${as_token}`, 'content-type': 'application/json' },
    body: '{}',
  });
}

/**
 * Runs `work` (which waits for a held transaction's effect) while asking Synapse A every second to
 * re-send what it holds: one ask may land before Synapse has put the appservice in recovery, or
 * while the restarted service is still starting, and its backoff then doubles up to minutes.
 */
export async function whileRetryingHeld<T>(work: () => Promise<T>): Promise<T> {
  const state = { done: false };
  const asking = (async () => {
    while (!state.done) {
      await retryHeldTransactions().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  })();
  try {
    return await work();
  } finally {
    state.done = true;
    await asking;
  }
}

/** Sends a signal to a stack part's whole process group. */
export function signalPart(part: string, signal: NodeJS.Signals): void {
  const pid = runningPid(part);
  if (pid === undefined) throw new Error(`${part} is not running`);
  try {
    process.kill(-pid, signal);
  } catch {
    process.kill(pid, signal);
  }
}

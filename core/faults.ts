/**
 * Crash points for tests that must kill the service at an exact moment (e.g. between recording a
 * call and announcing it), which no outside signal can hit reliably. Off unless the process was
 * started with CAUSERIE_FAULT_KILL_AT=<point>.
 */
export function faultPoint(point: string): void {
  if (process.env['CAUSERIE_FAULT_KILL_AT'] === point) process.kill(process.pid, 'SIGKILL');
}

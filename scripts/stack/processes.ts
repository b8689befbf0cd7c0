/**
 * Background processes of the stack: started detached into their own process group with output
 * to a log file, tracked by pid files under .stack/run, stopped by signalling the whole group so
 * that no child survives `stack:down`.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { logDir, logFile, runDir } from './layout.ts';

export class StackError extends Error {
  constructor(
    readonly part: string,
    message: string,
  ) {
    super(`${part}: ${message}`);
    this.name = 'StackError';
  }
}

const pidFile = (part: string): string => join(runDir, `${part}.pid`);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid recorded for a part, if that process is still alive. */
export function runningPid(part: string): number | undefined {
  const file = pidFile(part);
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) return pid;
  rmSync(file, { force: true });
  return undefined;
}

export function recordPid(part: string, pid: number): void {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(pidFile(part), `${pid}\n`);
}

export interface StartOptions {
  part: string;
  command: string;
  args: readonly string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts a long-running process detached from us, logging to .stack/logs/<part>.log. */
export function startDetached(opts: StartOptions): number {
  mkdirSync(logDir, { recursive: true });
  const fd = openSync(logFile(opts.part), 'a');
  try {
    const child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) {
      throw new StackError(opts.part, `could not start ${opts.command}`);
    }
    child.unref();
    recordPid(opts.part, child.pid);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Sends SIGTERM to the process group, waits, then SIGKILL. Resolves once the leader is gone. */
export async function stopGroup(part: string, pid: number, graceMs = 10_000): Promise<void> {
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) {
    signal('SIGKILL');
    while (isAlive(pid)) await sleep(20);
  }
  rmSync(pidFile(part), { force: true });
}

/** Whether something already listens on a loopback TCP port. */
export async function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(true);
    });
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => {
        resolve(false);
      });
    });
  });
}

/** The last lines of a part's log, to show why it failed. */
export function logTail(part: string, lines = 15): string {
  const file = logFile(part);
  if (!existsSync(file)) return '(no log written)';
  const all = readFileSync(file, 'utf8').trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

export interface WaitOptions {
  part: string;
  pid?: number;
  timeoutMs: number;
  /** Resolves true when healthy; may throw for "not yet". */
  check: () => Promise<boolean>;
}

/** Polls a health check until it passes, failing fast if the process died. */
export async function waitHealthy(opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let delay = 50;
  let lastError: string;
  for (;;) {
    try {
      if (await opts.check()) return;
      lastError = 'unhealthy answer';
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (opts.pid !== undefined && !isAlive(opts.pid)) {
      throw new StackError(
        opts.part,
        `process exited during start-up; log ${logFile(opts.part)}:\n${logTail(opts.part)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new StackError(
        opts.part,
        `not healthy after ${Math.round(opts.timeoutMs / 1000)} s (${lastError}); log ${logFile(opts.part)}:\n${logTail(opts.part)}`,
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
}

/**
 * A throwaway PostgreSQL cluster (Debian's server binaries) in a temporary directory with its own
 * port and socket directory, run as the `postgres` user when we are root (initdb refuses root).
 * Not the system service. Removed on stop.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import { postgresBinDir } from './install.ts';
import { host, ports, runDir } from './layout.ts';
import { recordPid, StackError } from './processes.ts';

export const postgresUrl = (db = 'causerie'): string => `postgres://postgres@${host}:${ports.postgres}/${db}`;
const dataDirFile = join(runDir, 'postgres.datadir');

/** The cluster's log lives in its own directory: the postgres user may not reach ours. */
export const postgresLog = (dataDir: string): string => join(dataDir, 'postgres.log');

function binDir(): string {
  const dir = postgresBinDir();
  if (dir === undefined)
    throw new StackError('postgres', 'PostgreSQL server binaries not found under /usr/lib/postgresql');
  return dir;
}

function asPostgres(command: string, args: string[]): void {
  const root = process.getuid?.() === 0;
  const [cmd, argv] = root ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  try {
    execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: tmpdir() });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    const stderr = e.stderr?.toString().trim() ?? '';
    throw new StackError('postgres', `${command} failed: ${stderr === '' ? e.message : stderr}`);
  }
}

export function postgresDataDir(): string | undefined {
  return existsSync(dataDirFile) ? readFileSync(dataDirFile, 'utf8').trim() : undefined;
}

function pgCtlStart(bin: string, dir: string): void {
  asPostgres(join(bin, 'pg_ctl'), [
    '-D',
    join(dir, 'data'),
    '-l',
    postgresLog(dir),
    '-w',
    '-t',
    '30',
    '-o',
    `-p ${ports.postgres} -k ${dir} -c listen_addresses=${host} -c fsync=off -c full_page_writes=off`,
    'start',
  ]);
}

/** Stops the running cluster, keeping its data (fault tests: PostgreSQL restarted mid-call). */
export function pausePostgres(): void {
  const dir = postgresDataDir();
  if (dir === undefined) throw new StackError('postgres', 'no running cluster to pause');
  asPostgres(join(binDir(), 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop']);
}

/** Starts the paused cluster again, with its data. */
export function resumePostgres(): number {
  const dir = postgresDataDir();
  if (dir === undefined) throw new StackError('postgres', 'no cluster to resume');
  pgCtlStart(binDir(), dir);
  const pid = Number.parseInt(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
  recordPid('postgres', pid);
  return pid;
}

export async function startPostgres(): Promise<number> {
  const bin = binDir();
  const old = postgresDataDir();
  if (old !== undefined) rmSync(old, { recursive: true, force: true });
  const dir = mkdtempSync(join(tmpdir(), 'causerie-pg-'));
  if (process.getuid?.() === 0) {
    const uid = Number.parseInt(execFileSync('id', ['-u', 'postgres']).toString(), 10);
    const gid = Number.parseInt(execFileSync('id', ['-g', 'postgres']).toString(), 10);
    chownSync(dir, uid, gid);
  }
  mkdirSync(runDir, { recursive: true });
  writeFileSync(dataDirFile, `${dir}\n`);
  const data = join(dir, 'data');
  asPostgres(join(bin, 'initdb'), [
    '-D',
    data,
    '--auth=trust',
    '-U',
    'postgres',
    '--encoding=UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
  ]);
  pgCtlStart(bin, dir);
  const pid = Number.parseInt(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
  recordPid('postgres', pid);
  const client = new pg.Client({ connectionString: postgresUrl('postgres') });
  await client.connect();
  try {
    await client.query('CREATE DATABASE causerie');
  } finally {
    await client.end();
  }
  return pid;
}

export async function postgresHealthy(): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresUrl(), connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end();
  }
}

export function stopPostgres(): void {
  const dir = postgresDataDir();
  if (dir === undefined) return;
  if (existsSync(join(dir, 'data', 'postmaster.pid'))) {
    asPostgres(join(binDir(), 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop']);
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(dataDirFile, { force: true });
  rmSync(join(runDir, 'postgres.pid'), { force: true });
}

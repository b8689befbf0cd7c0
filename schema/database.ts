/**
 * One database interface over PostgreSQL (pg) and embedded PGlite, so the same SQL and the same
 * code run on both. PGlite is used when no database URL is configured.
 *
 * Every parameter is made storable before it is sent: PostgreSQL text cannot hold U+0000 and jsonb
 * refuses `\u0000` and lone-surrogate escapes, and those come straight from events any room member
 * writes. Such characters become U+FFFD, so a hostile string never fails a write. JSON parameters
 * are passed as `jsonParam(value)` so they are serialised and cleaned the same way.
 */
import { mkdirSync } from 'node:fs';

import type { PGlite, Transaction } from '@electric-sql/pglite';
import pg from 'pg';

/** A value to be stored as json/jsonb (serialised and cleaned by the database layer). */
export class JsonParam {
  constructor(readonly value: unknown) {}
}

export const jsonParam = (value: unknown): JsonParam => new JsonParam(value);

/** Text PostgreSQL can store: no U+0000, no lone surrogates (both become U+FFFD). */
export function storableText(s: string): string {
  return s.replaceAll('\u0000', '\uFFFD').toWellFormed();
}

/**
 * JSON text jsonb accepts: `\u0000` and lone-surrogate escapes become `\ufffd`. JSON.stringify
 * escapes exactly those (a paired surrogate is written raw), and `\\` pairs are consumed first so an
 * escaped backslash followed by "u0000" is left alone.
 */
function storableJson(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) return 'null';
  return text.replace(/\\(?:u(?:0000|d[89a-f][0-9a-f]{2})|[^u])/gi, (m) => (m.length === 6 ? '\\ufffd' : m));
}

function storable(params: readonly unknown[]): unknown[] {
  return params.map((p) =>
    typeof p === 'string' ? storableText(p) : p instanceof JsonParam ? storableJson(p.value) : p,
  );
}

const TRANSIENT_SQLSTATE = /^(08|53|57P0|40001|40P01|55P03|58)/;
const TRANSIENT_NODE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN/;

/**
 * Whether a database error means "the database is not there right now" (connection lost, server
 * shutting down or starting, too many connections, timeout, serialization failure) rather than
 * "this statement cannot succeed". The first holds work back for a retry; the second never will
 * succeed and must not hold anything up.
 */
export function isTransientDatabaseError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown };
  if (typeof e.code === 'string') {
    if (TRANSIENT_SQLSTATE.test(e.code) && e.code.length === 5) return true;
    if (TRANSIENT_NODE.test(e.code)) return true;
  }
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout|not queryable|Cannot use a pool after calling end/i.test(
    e.message,
  );
}

export interface Queryable {
  query<R extends object>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs several statements separated by `;` (no parameters). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /**
   * False from a failure that says the database is unreachable until it answers again (probed
   * every second meanwhile): callers that must not act without it refuse early.
   */
  available(): boolean;
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

class PostgresDatabase implements Database {
  readonly kind = 'postgres';
  private down = false;
  private probe: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly pool: pg.Pool) {}

  available(): boolean {
    return !this.down;
  }

  /** Something said the database is unreachable: refuse early until a probe gets an answer. */
  markDown(): void {
    if (this.down || this.closed) return;
    this.down = true;
    this.probe = setInterval(() => {
      this.pool.query('SELECT 1').then(
        () => {
          this.down = false;
          clearInterval(this.probe);
          this.probe = undefined;
        },
        () => undefined,
      );
    }, 1_000);
    this.probe.unref();
  }

  private watch<T>(p: Promise<T>): Promise<T> {
    return p.catch((err: unknown) => {
      if (isTransientDatabaseError(err)) this.markDown();
      throw err;
    });
  }

  async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    const res = await this.watch(this.pool.query<R>(sql, storable(params)));
    return res.rows;
  }

  async exec(sql: string): Promise<void> {
    await this.watch(this.pool.query(sql));
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.watch(this.pool.connect());
    const tx: Queryable = {
      query: async <R extends object>(sql: string, params: readonly unknown[] = []) =>
        (await client.query<R>(sql, storable(params))).rows,
      exec: async (sql: string) => {
        await client.query(sql);
      },
    };
    let out: T;
    try {
      await client.query('BEGIN');
      out = await fn(tx);
      await client.query('COMMIT');
    } catch (err) {
      let broken: Error | undefined;
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken = e as Error;
      });
      // A client whose rollback failed is discarded, not returned to the pool.
      client.release(broken);
      throw err;
    }
    client.release();
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.probe);
    await this.pool.end();
  }
}

const wrapPglite = (q: PGlite | Transaction): Queryable => ({
  query: async <R extends object>(sql: string, params: readonly unknown[] = []) =>
    (await q.query<R>(sql, storable(params))).rows,
  exec: async (sql: string) => {
    await q.exec(sql);
  },
});

class PgliteDatabase implements Database {
  readonly kind = 'pglite';
  private readonly q: Queryable;
  constructor(private readonly db: PGlite) {
    this.q = wrapPglite(db);
  }

  /** Embedded: there when the process is. */
  available(): boolean {
    return true;
  }

  query<R extends object>(sql: string, params?: readonly unknown[]): Promise<R[]> {
    return this.q.query<R>(sql, params);
  }

  exec(sql: string): Promise<void> {
    return this.q.exec(sql);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(wrapPglite(tx)));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

export interface DatabaseOptions {
  /** postgres:// URL; when absent, PGlite is used. */
  url?: string | undefined;
  /** PGlite data directory; `memory://` keeps it in memory. */
  dataDir?: string;
  /** Told about errors of idle PostgreSQL connections (logged by the caller). */
  onError?: (err: Error) => void;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url !== undefined) {
    // Deadlines: a database that stops answering (network black hole) must fail queries, not hang
    // them, so callers can tell "unavailable" and hold work back.
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: 10,
      connectionTimeoutMillis: 5_000,
      query_timeout: 15_000,
    });
    // An idle client losing its connection (server restart, network) must not crash the process:
    // the pool drops it and the next query opens a new one.
    const holder: { db?: PostgresDatabase } = {};
    pool.on('error', (err) => {
      holder.db?.markDown();
      opts.onError?.(err);
    });
    // Fail at start, not at first use, when the server cannot be reached.
    const client = await pool.connect().catch(async (err: unknown) => {
      await pool.end();
      throw err;
    });
    client.release();
    holder.db = new PostgresDatabase(pool);
    return holder.db;
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const dataDir = opts.dataDir ?? 'memory://';
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  return new PgliteDatabase(await PGlite.create(dataDir));
}

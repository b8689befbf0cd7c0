/**
 * One database interface over PostgreSQL (pg) and embedded PGlite, so the same SQL and the same
 * code run on both. PGlite is used when no database URL is configured.
 */
import { mkdirSync } from 'node:fs';

import type { PGlite, Transaction } from '@electric-sql/pglite';
import pg from 'pg';

export interface Queryable {
  query<R extends object>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs several statements separated by `;` (no parameters). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

class PostgresDatabase implements Database {
  readonly kind = 'postgres';
  constructor(private readonly pool: pg.Pool) {}

  async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    const res = await this.pool.query<R>(sql, params as unknown[]);
    return res.rows;
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx: Queryable = {
      query: async <R extends object>(sql: string, params: readonly unknown[] = []) =>
        (await client.query<R>(sql, params as unknown[])).rows,
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
    await this.pool.end();
  }
}

const wrapPglite = (q: PGlite | Transaction): Queryable => ({
  query: async <R extends object>(sql: string, params: readonly unknown[] = []) =>
    (await q.query<R>(sql, params as unknown[])).rows,
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
    const pool = new pg.Pool({ connectionString: opts.url, max: 10, connectionTimeoutMillis: 5_000 });
    // An idle client losing its connection (server restart, network) must not crash the process:
    // the pool drops it and the next query opens a new one.
    pool.on('error', (err) => {
      opts.onError?.(err);
    });
    // Fail at start, not at first use, when the server cannot be reached.
    const client = await pool.connect().catch(async (err: unknown) => {
      await pool.end();
      throw err;
    });
    client.release();
    return new PostgresDatabase(pool);
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const dataDir = opts.dataDir ?? 'memory://';
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  return new PgliteDatabase(await PGlite.create(dataDir));
}

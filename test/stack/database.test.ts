import { randomBytes } from 'node:crypto';

import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

import { openDatabase, type Database } from '../../schema/database.ts';
import { listMigrations, migrate } from '../../schema/migrate.ts';
import { stackEnv } from '../../scripts/stack/clients/env.ts';

/** A fresh database in the stack's PostgreSQL cluster, dropped after the suite. */
const created: string[] = [];
async function freshPostgresUrl(): Promise<string> {
  const name = `t_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: stackEnv().postgres.url.replace(/\/[^/]*$/, '/postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  created.push(name);
  return stackEnv().postgres.url.replace(/\/[^/]*$/, `/${name}`);
}

afterAll(async () => {
  const admin = new pg.Client({ connectionString: stackEnv().postgres.url.replace(/\/[^/]*$/, '/postgres') });
  await admin.connect();
  for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

async function exercise(db: Database): Promise<void> {
  const applied = await migrate(db);
  expect(applied).toEqual(listMigrations().map((m) => m.version));
  expect(await migrate(db)).toEqual([]);

  await db.query('INSERT INTO audit_log (action, room_id, user_id, detail) VALUES ($1, $2, $3, $4)', [
    'token_granted',
    '!room:localhost:8481',
    '@bob:localhost:8482',
    JSON.stringify({ identity: 'x' }),
  ]);
  const rows = await db.query<{ action: string; detail: { identity: string } }>(
    'SELECT action, detail FROM audit_log WHERE room_id = $1',
    ['!room:localhost:8481'],
  );
  expect(rows).toEqual([{ action: 'token_granted', detail: { identity: 'x' } }]);

  // A failing transaction leaves nothing behind.
  await expect(
    db.transaction(async (tx) => {
      await tx.query('INSERT INTO appservice_transactions (txn_id) VALUES ($1)', ['t1']);
      await tx.query('INSERT INTO appservice_transactions (txn_id) VALUES ($1)', ['t1']);
    }),
  ).rejects.toThrow(/duplicate key/);
  expect(await db.query('SELECT txn_id FROM appservice_transactions')).toEqual([]);
}

describe('database', () => {
  it('runs the migrations and SQL against the stack PostgreSQL cluster', async () => {
    const db = await openDatabase({ url: await freshPostgresUrl() });
    try {
      expect(db.kind).toBe('postgres');
      const [row] = await db.query<{ server_version: string }>('SHOW server_version');
      expect(row?.server_version).toMatch(/^\d+/);
      await exercise(db);
    } finally {
      await db.close();
    }
  });

  it('runs the same migrations and SQL against embedded PGlite', async () => {
    const db = await openDatabase({ dataDir: 'memory://' });
    try {
      expect(db.kind).toBe('pglite');
      await exercise(db);
    } finally {
      await db.close();
    }
  });

  it('two instances migrating one PostgreSQL database at once apply each migration once', async () => {
    const url = await freshPostgresUrl();
    const [one, two] = await Promise.all([openDatabase({ url }), openDatabase({ url })]);
    try {
      const [a, b] = await Promise.all([migrate(one), migrate(two)]);
      expect([...a, ...b].sort()).toEqual(listMigrations().map((m) => m.version));
      const rows = await one.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
      expect(Number(rows[0]?.n)).toBe(listMigrations().length);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});

/**
 * Hooks a suite of stack tests shares: a database client and the LiveKit connections it opened,
 * closed after the suite.
 */
import { dispose, type Room } from '@livekit/rtc-node';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

import { stackEnv } from '../../scripts/stack/clients/env.ts';

/**
 * What a suite of call tests shares: a client of the stack's database and the LiveKit connections
 * it opened, both closed after the suite (hooks registered here).
 */
export interface SuiteDatabase {
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

export function callSuite(): { db: SuiteDatabase; connected: Room[] } {
  let client: pg.Client | undefined;
  const connected: Room[] = [];
  beforeAll(async () => {
    client = new pg.Client({ connectionString: stackEnv().postgres.url });
    await client.connect();
  });
  afterAll(async () => {
    for (const r of connected) await r.disconnect().catch(() => undefined);
    await dispose();
    await client?.end();
  });
  const db: SuiteDatabase = {
    query: (sql, params) => {
      if (client === undefined) throw new Error('the suite’s database client is used before beforeAll');
      return client.query(sql, params);
    },
  };
  return { db, connected };
}
